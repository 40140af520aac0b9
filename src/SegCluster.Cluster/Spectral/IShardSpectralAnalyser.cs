using SegCluster.Abstractions.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Spectral;

/// <summary>Computes one shard's spectral statistics on this node (blocking tensor work: call it off the grain scheduler).</summary>
public interface IShardSpectralAnalyser
{
    /// <exception cref="ArgumentException">The request does not fit the dataset (names the field).</exception>
    SpectralStatistics Analyse(SpectralShardRequest request, CancellationToken cancellationToken);
}
