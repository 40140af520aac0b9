using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// The trials a sweep's driver has in flight: each one's run (<see cref="ITrialRunner.RunAsync"/> or
/// <see cref="ITrialRunner.FollowAsync"/>) with the trial's index and the workers it holds. Used on the coordinator's
/// activation only (not thread-safe).
/// </summary>
public sealed class RunningTrials
{
    private readonly Dictionary<Task<TrialOutcome>, (int Index, string[] Workers)> _runs = [];

    public int Count => _runs.Count;

    /// <summary>The trials still running, by index.</summary>
    public IEnumerable<int> Indices => _runs.Values.Select(r => r.Index);

    public void Add(Task<TrialOutcome> run, TrialLaunch launch) => _runs.Add(run, (launch.Index, [.. launch.Workers]));

    /// <summary>Forgets every run: a new driver starts with none.</summary>
    public void Clear() => _runs.Clear();

    /// <summary>Completes when a run ends or <paramref name="wake"/> completes.</summary>
    public Task WhenAnyEndsAsync(Task wake) => Task.WhenAny(_runs.Keys.Append<Task>(wake));

    /// <summary>Completes when every run has ended, or after <paramref name="wait"/>; never throws (outcomes are read by
    /// <see cref="TakeEndedAsync"/>).</summary>
    public async Task WhenAllEndAsync(TimeSpan wait) =>
        await Task.WhenAll(_runs.Keys.Cast<Task>()).WaitAsync(wait)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);

    /// <summary>Removes the runs that have ended and says how each ended. A runner that threw
    /// (its contract is to return failures) ended its trial as failed, with what it threw.</summary>
    public async Task<List<(int Index, string[] Workers, TrialOutcome Outcome)>> TakeEndedAsync()
    {
        var ended = new List<(int, string[], TrialOutcome)>();
        foreach (var done in _runs.Keys.Where(t => t.IsCompleted).ToList())
        {
            var (index, workers) = _runs[done];
            _runs.Remove(done);
            ended.Add((index, workers, await OutcomeOf(done)));
        }
        return ended;
    }

    private static async Task<TrialOutcome> OutcomeOf(Task<TrialOutcome> done)
    {
        try
        {
            return await done;
        }
        catch (Exception e)
        {
            return new TrialOutcome(TrialState.Failed, 0, double.NaN, Error: $"the trial runner threw: {e.Message}");
        }
    }
}
