using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Grains;

[GenerateSerializer, Alias("SegCluster.SweepTrialRecord")]
public sealed record SweepTrialRecord
{
    [Id(0)] public TrialResult? Result { get; init; }
}
