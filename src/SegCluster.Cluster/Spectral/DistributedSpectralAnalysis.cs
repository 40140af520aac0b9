using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Spectral;

/// <summary>
/// Coordinates a spectral label analysis over the cluster: asks every shard grain for its statistics in parallel (each
/// computes where it is placed), retries a shard whose call failed (its node was lost: the grain is placed again and
/// answers from its record, or computes again if it had not recorded), and merges the results. Each shard's answer fills
/// its own slot once, so no shard is counted twice whatever the retries.
/// </summary>
public sealed class DistributedSpectralAnalysis(IGrainFactory grains, int maxAttempts = 3)
{
    /// <param name="onShard">Called once per shard as its result arrives (progress).</param>
    /// <param name="onRetry">Called for each failed shard call that is retried.</param>
    /// <exception cref="ArgumentException">The request is invalid (names the field) or the dataset refused it.</exception>
    public async Task<SpectralAnalysisOutcome> RunAsync(
        ExperimentSpec spec, int images, int shards, int batchSize,
        Action<SpectralShardResult>? onShard = null, Action<int, Exception>? onRetry = null, CancellationToken cancellationToken = default)
    {
        var requests = Enumerable.Range(0, Math.Max(1, shards))
            .Select(s => new SpectralShardRequest { Spec = spec, Images = images, Shard = s, Shards = shards, BatchSize = batchSize }).ToList();
        var errors = requests[0].Validate();
        if (errors.Count > 0) throw new ArgumentException($"spectral analysis: {string.Join(" ", errors)}");
        var retries = 0;
        var results = await Task.WhenAll(requests.Select(async request =>
        {
            for (var attempt = 1; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    var result = await grains.GetGrain<ISpectralShardGrain>(request.GrainKey).AnalyseAsync(request);
                    if (result is null)
                    {
                        attempt--;  // still computing: asking again is not a failed attempt
                        continue;
                    }
                    if (result.Shard != request.Shard)
                        throw new InvalidOperationException($"shard {request.Shard} answered with the result of shard {result.Shard}.");
                    onShard?.Invoke(result);
                    return result;
                }
                catch (Exception e) when (e is not ArgumentException && attempt < maxAttempts && !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref retries);
                    onRetry?.Invoke(request.Shard, e);
                }
            }
        }));
        var merged = SpectralStatistics.Sum(results.Select(r => SpectralStatistics.FromJson(r.Statistics)));
        if (merged.Images != images)
            throw new InvalidOperationException($"the shards analysed {merged.Images} images, expected {images}: a shard was lost or counted twice.");
        return new SpectralAnalysisOutcome(merged, results, retries);
    }
}
