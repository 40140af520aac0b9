using SegCluster.Abstractions.Spectral;

namespace SegCluster.Cluster.Grains;

/// <summary>A spectral shard's recorded result; null until its statistics were computed once.</summary>
[GenerateSerializer, Alias("SegCluster.SpectralShardRecord")]
public sealed record SpectralShardRecord
{
    [Id(0)] public SpectralShardResult? Result { get; init; }
}
