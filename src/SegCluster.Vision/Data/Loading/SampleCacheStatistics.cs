namespace SegCluster.Vision.Data.Loading;

/// <summary>A snapshot of a <see cref="SampleCache{T}"/>'s counters.</summary>
public sealed record SampleCacheStatistics(long Hits, long Misses, long Evictions, long Bytes, int Entries, long ByteBudget)
{
    /// <summary>Hits ÷ lookups; 0 before the first lookup.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
