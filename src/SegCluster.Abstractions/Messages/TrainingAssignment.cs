using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Messages;

/// <summary>
/// What the coordinator hands one worker: the spec, its rank, and the ring (endpoint of every rank).
/// RingId names this formation of the ring (experiment and attempt), so chunks of an earlier attempt
/// can never be matched into a re-formed one. Small and immutable: tensors never travel through grains, gradients go over the gRPC collective.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.TrainingAssignment")]
public sealed record TrainingAssignment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] ExperimentSpec Spec,
    [property: Id(2)] int Rank,
    [property: Id(3)] IReadOnlyList<string> RingEndpoints,
    [property: Id(4)] string DatasetShardKey,
    [property: Id(5)] string RingId)
{
    public int WorldSize => RingEndpoints.Count;

    /// <summary>Which formation of the ring this is (1, 2, …); reports of an older attempt are ignored.</summary>
    [Id(6)] public int Attempt { get; init; } = 1;
    /// <summary>Checkpoint to resume from (weights, optimizer state, step); null = start from rank 0's initial weights.</summary>
    [Id(7)] public CheckpointRecord? ResumeFrom { get; init; }
}
