using SegCluster.Abstractions.Spectral;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// One shard of a distributed spectral label analysis, keyed by <see cref="SpectralShardRequest.GrainKey"/>. Computes its
/// shard's statistics on the node it is placed on (shards of one analysis are spread over the nodes), records them, and
/// answers later calls from the record: a shard is computed once however often it is asked, also after its node is lost
/// while the record survives (Redis storage on a cluster).
/// </summary>
[Alias("SegCluster.ISpectralShardGrain")]
public interface ISpectralShardGrain : IGrainWithStringKey
{
    /// <summary>The shard's statistics, or null while they are still being computed: ask again (one call waits a bounded
    /// time, below the grain-call timeout, however long the shard takes).</summary>
    /// <exception cref="ArgumentException">The request is invalid or does not match the grain's key.</exception>
    [Alias("Analyse")] Task<SpectralShardResult?> AnalyseAsync(SpectralShardRequest request);
}
