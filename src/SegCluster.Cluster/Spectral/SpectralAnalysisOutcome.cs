using SegCluster.Abstractions.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Spectral;

/// <summary>A finished distributed analysis: the merged statistics, each shard's result (index = shard), and the shard
/// calls that failed and were retried.</summary>
public sealed record SpectralAnalysisOutcome(SpectralStatistics Statistics, IReadOnlyList<SpectralShardResult> Shards, int Retries);
