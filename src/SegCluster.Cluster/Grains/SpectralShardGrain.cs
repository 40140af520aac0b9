using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Spectral;
using SegCluster.Cluster.Placement;
using SegCluster.Cluster.Spectral;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// One shard of a spectral label analysis (see <see cref="ISpectralShardGrain"/>). The first call computes the shard's
/// statistics off the grain scheduler and records them before answering; later calls, also from a new activation after
/// the node was lost, answer from the record. Not reentrant, so concurrent callers wait for the one computation.
/// </summary>
[ShardSpreadPlacement]
public sealed class SpectralShardGrain(
    [PersistentState("shard", ClusterStorage.Spectral)] IPersistentState<SpectralShardRecord> record,
    IShardSpectralAnalyser analyser,
    ILocalSiloDetails silo,
    ILogger<SpectralShardGrain> logger) : Grain, ISpectralShardGrain
{
    public async Task<SpectralShardResult> AnalyseAsync(SpectralShardRequest request)
    {
        var key = this.GetPrimaryKeyString();
        if (request.GrainKey != key)
            throw new ArgumentException($"spectral shard '{key}' was asked for '{request.GrainKey}': the request does not belong to this shard.");
        if (record.State.Result is { } recorded) return recorded with { FromRecord = true };

        var clock = Stopwatch.StartNew();
        var statistics = await Task.Run(() => analyser.Analyse(request, CancellationToken.None));
        var result = new SpectralShardResult
        {
            Shard = request.Shard, Images = statistics.Images, Statistics = statistics.ToJson(),
            ComputedBy = silo.Name, Seconds = clock.Elapsed.TotalSeconds,
        };
        record.State = new SpectralShardRecord { Result = result };
        await record.WriteRetryingAsync(logger, $"Spectral shard {key}");
        logger.LogInformation("Spectral shard {Shard} analysed {Images} images on {Silo} in {Seconds:F2} s", key, result.Images, silo.Name, result.Seconds);
        return result;
    }
}
