using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// The experiment watchdog's question to a ring: which ranks' workers say they do not run this attempt, and how those
/// ranks ended. Every worker at once, each bounded by <paramref name="timeout"/>: one that cannot answer in time (its node
/// may be dead, which membership reports on its own path) is unknown, never counted as stopped.
/// </summary>
internal static class RingProbe
{
    /// <returns>For each worker that answered it is not running rank r of <paramref name="attempt"/>: the rank, and the
    /// failure its loop ended with (its own error and classification: its report may have been lost), or else a retryable
    /// one saying what the worker runs instead (a vanished or cancelled loop reports nothing).</returns>
    public static async Task<IReadOnlyList<(int Rank, RankFailure Failure)>> StoppedRanksAsync(IGrainFactory grains, string experimentId, int attempt,
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
        var stopped = new List<(int, RankFailure)>();
        for (var rank = 0; rank < answers.Length; rank++)
        {
            if (answers[rank] is not { } run) continue;
            var ours = run.ExperimentId == experimentId && run.Attempt == attempt && run.Rank == rank;
            if (ours && run.Running) continue;
            stopped.Add((rank, ours && run.Failure is { } failure
                ? failure
                : new RankFailure($"worker {workers[rank]} does not run this rank of attempt {attempt} (it has {run})", Retryable: true)));
        }
        return stopped;
    }
}
