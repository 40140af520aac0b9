using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Grains;

/// <summary>The persisted part of an experiment: enough to report it after the coordinator moves.</summary>
[GenerateSerializer, Alias("SegCluster.ExperimentRecord")]
public sealed record ExperimentRecord
{
    [Id(0)] public ExperimentSpec? Spec { get; init; }
    [Id(1)] public List<string> Workers { get; init; } = [];
    [Id(2)] public ExperimentState State { get; init; } = ExperimentState.Pending;
    [Id(3)] public EvaluationReport? Evaluation { get; init; }
    [Id(4)] public string? Error { get; init; }
    /// <summary>How many times the ring was formed; part of the ring id.</summary>
    [Id(5)] public int Attempt { get; init; }
}
