using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Spectral;
using SegCluster.Cluster.Placement;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Spectral;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// One shard of a spectral label analysis (see <see cref="ISpectralShardGrain"/>). The first call starts the shard's
/// computation off the grain scheduler, which records its statistics when done; a call waits for it at most
/// <see cref="SpectralShardOptions.AnswerWithin"/> and answers null while it runs, so no call outlasts the grain-call
/// timeout however large the shard. Later calls, also from a new activation after the node was lost, answer from the
/// record. A failed computation is started again by the next call.
/// </summary>
[ShardSpreadPlacement]
public sealed class SpectralShardGrain(
    [PersistentState("shard", ClusterStorage.Spectral)] IPersistentState<SpectralShardRecord> record,
    IShardSpectralAnalyser analyser,
    ILocalSiloDetails silo,
    IOptions<SpectralShardOptions> options,
    SpecPathPolicy paths,
    ILogger<SpectralShardGrain> logger) : Grain, ISpectralShardGrain
{
    private Task<SpectralShardResult>? _computation;

    public async Task<SpectralShardResult?> AnalyseAsync(SpectralShardRequest request)
    {
        var key = this.GetPrimaryKeyString();
        if (request.GrainKey != key)
            throw new ArgumentException($"spectral shard '{key}' was asked for '{request.GrainKey}': the request does not belong to this shard.");
        if (record.State.Result is { } recorded) return recorded with { FromRecord = true };
        // This node reads the dataset: its path roots decide, before the analyser looks at the folder (once: a poll while
        // the computation runs is the request that passed).
        if (_computation is null && paths.Refusal("dataset.path", request.Spec.Dataset.Path) is { } refused) throw new ArgumentException(refused);

        var computation = _computation ??= ComputeAsync(key, request);
        if (await Task.WhenAny(computation, Task.Delay(options.Value.AnswerWithin)) != computation) return null;
        try
        {
            return await computation;
        }
        catch
        {
            _computation = null;
            throw;
        }
    }

    private async Task<SpectralShardResult> ComputeAsync(string key, SpectralShardRequest request)
    {
        var clock = Stopwatch.StartNew();
        var statistics = await Task.Run(() => analyser.Analyse(request, CancellationToken.None));
        var result = new SpectralShardResult
        {
            Shard = request.Shard, Images = statistics.Images, Statistics = statistics.ToJson(),
            ComputedBy = silo.Name, Seconds = clock.Elapsed.TotalSeconds,
        };
        record.State = new SpectralShardRecord { Result = result };
        await record.WriteRetryingAsync(this, logger, $"Spectral shard {key}");
        logger.LogInformation("Spectral shard {Shard} analysed {Images} images on {Silo} in {Seconds:F2} s", key, result.Images, silo.Name, result.Seconds);
        return result;
    }
}
