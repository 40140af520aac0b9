using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// The experiment watchdog's question to a ring: which ranks' workers say they do not run this attempt. Every worker at
/// once, each bounded by <paramref name="timeout"/>: one that cannot answer in time (its node may be dead, which
/// membership reports on its own path) is unknown, never counted as stopped.
/// </summary>
internal static class RingProbe
{
    /// <returns>Rank and why, for each worker that answered it is not running rank r of <paramref name="attempt"/>.</returns>
    public static async Task<IReadOnlyList<(int Rank, string Reason)>> StoppedRanksAsync(IGrainFactory grains, string experimentId, int attempt,
        IReadOnlyList<string> workers, TimeSpan timeout, ILogger logger)
    {
        var answers = await Task.WhenAll(workers.Select(async id =>
        {
            try { return await grains.GetGrain<IWorkerGrain>(id).GetRunAsync().WaitAsync(timeout); }
            catch (Exception e)
            {
                logger.LogDebug("Worker {Worker} of {Experiment} did not say what it runs ({Error})", id, experimentId, e.Message);
                return null;
            }
        }));
        return [.. answers.Select((run, rank) => (run, rank))
            .Where(a => a.run is { } r && !(r.ExperimentId == experimentId && r.Attempt == attempt && r.Rank == a.rank && r.Running))
            .Select(a => (a.rank, $"worker {workers[a.rank]} does not run this rank of attempt {attempt} (it has {a.run})"))];
    }
}
