using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

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
    public static async Task<long[]> RunAsync(IGrainFactory grains, IReadOnlyList<string> workerIds, EvaluationRequest template, int count,
        Action<int>? progress, CancellationToken cancellationToken)
    {
        var parts = Partition(count, Math.Min(workerIds.Count, Math.Max(count, 1)));
        var workers = workerIds.Take(parts.Count).Select(id => (Id: id, Grain: grains.GetGrain<IWorkerGrain>(id))).ToList();
        for (var w = 0; w < workers.Count; w++)
            await workers[w].Grain.StartEvaluationAsync(template with { Indices = parts[w] });

        var latest = new EvaluationProgress?[workers.Count];
        while (true)
        {
            for (var w = 0; w < workers.Count; w++)
            {
                if (latest[w] is { Finished: true }) continue;
                latest[w] = await workers[w].Grain.GetEvaluationAsync(template.EvaluationId);
                if (latest[w]!.Error is { } error) throw new InvalidOperationException($"worker {workers[w].Id}: {error}");
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
