namespace SegCluster.Abstractions.Spectral;

/// <summary>
/// A shard's spectral statistics (SegCluster.Vision's SpectralStatistics as JSON: a few KB of sums, never label
/// tensors), who computed them, and whether this answer came from the shard's record rather than a new computation.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SpectralShardResult")]
public sealed record SpectralShardResult
{
    [Id(0)] public int Shard { get; init; }
    [Id(1)] public long Images { get; init; }
    [Id(2)] public string Statistics { get; init; } = "";
    /// <summary>Name of the silo (node) that computed the statistics.</summary>
    [Id(3)] public string ComputedBy { get; init; } = "";
    [Id(4)] public double Seconds { get; init; }
    /// <summary>True when the shard's recorded result was returned without computing again.</summary>
    [Id(5)] public bool FromRecord { get; init; }
}
