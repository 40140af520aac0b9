using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using Orleans.Runtime;

namespace SegCluster.Cli.Evaluation;

/// <summary>
/// Spreads an evaluation over workers: the split's samples are cut into contiguous, disjoint parts, one per worker,
/// each worker predicts its part on its own thread (<see cref="IWorkerGrain.StartEvaluationAsync"/>), and the parts'
/// confusion counts are summed. The counts are integers, so the sum is exactly the single-worker matrix.
/// </summary>
public static class DistributedEvaluation
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Sample indices [0, count) cut into <paramref name="parts"/> contiguous parts whose sizes differ by at most one.</summary>
    public static IReadOnlyList<int[]> Partition(int count, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        return Enumerable.Range(0, parts)
            .Select(p => Enumerable.Range(count * p / parts, count * (p + 1) / parts - count * p / parts).ToArray())
            .ToList();
    }

    /// <summary>Runs the evaluation on <paramref name="workerIds"/> (at most one part each; workers beyond the sample count
    /// get none) and returns the summed K·K confusion counts.</summary>
    /// <param name="template">The request without indices (they are filled per worker).</param>
    /// <param name="progress">Called with the images done so far, summed over the workers.</param>
    /// <exception cref="InvalidOperationException">A worker failed; the message names it and says why.</exception>
    /// <remarks>When this throws (a worker failed, or <paramref name="cancellationToken"/> was cancelled: Ctrl+C), the other
    /// workers' parts are cancelled too: nobody would collect their counts, so they would only hold the devices.</remarks>
    public static async Task<long[]> RunAsync(IGrainFactory grains, IReadOnlyList<string> workerIds, EvaluationRequest template, int count,
        Action<int>? progress, CancellationToken cancellationToken)
    {
        var parts = Partition(count, Math.Min(workerIds.Count, Math.Max(count, 1)));
        var workers = workerIds.Take(parts.Count).Select(id => grains.GetGrain<IWorkerGrain>(id)).ToList();
        var started = new List<IWorkerGrain>();
        try
        {
            for (var w = 0; w < workers.Count; w++)
            {
                await workers[w].StartEvaluationAsync(template with { Indices = parts[w] });
                started.Add(workers[w]);
            }
            return await CollectAsync(workers, workerIds, template.EvaluationId, progress, cancellationToken);
        }
        catch
        {
            await Task.WhenAll(started.Select(async worker =>
            {
                try { await worker.CancelEvaluationAsync(template.EvaluationId); }
                catch (Exception e) when (e is TimeoutException or OrleansException) { }  // its node is gone: nothing runs there
            }));
            throw;
        }
    }

    /// <summary>Polls the started parts until all have finished and sums their confusion counts.</summary>
    private static async Task<long[]> CollectAsync(IReadOnlyList<IWorkerGrain> workers, IReadOnlyList<string> workerIds, string evaluationId,
        Action<int>? progress, CancellationToken cancellationToken)
    {
        var latest = new EvaluationProgress?[workers.Count];
        while (true)
        {
            for (var w = 0; w < workers.Count; w++)
            {
                if (latest[w] is { Finished: true }) continue;
                latest[w] = await workers[w].GetEvaluationAsync(evaluationId);
                if (latest[w]!.Error is { } error) throw new InvalidOperationException($"worker {workerIds[w]}: {error}");
            }
            progress?.Invoke(latest.Sum(p => p!.Done));
            if (latest.All(p => p!.Finished)) break;
            await Task.Delay(PollInterval, cancellationToken);
        }
        var sum = new long[latest[0]!.Confusion!.Count];
        foreach (var part in latest)
            for (var i = 0; i < sum.Length; i++) sum[i] += part!.Confusion![i];
        return sum;
    }
}
