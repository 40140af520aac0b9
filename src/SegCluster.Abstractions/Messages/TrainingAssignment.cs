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
}
