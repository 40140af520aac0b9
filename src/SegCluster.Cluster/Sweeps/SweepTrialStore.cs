using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// A sweep's trial results in their own small entries (<see cref="ISweepTrialGrain"/>), one per trial: the coordinator
/// saves each trial transition there instead of rewriting its whole record, and a coordinator that takes the sweep over
/// lays them over its record's trials. Used on the coordinator's activation only (not thread-safe).
/// </summary>
/// <param name="trials">The coordinator's trials, by index, as they are when read (a save stores each trial as it is then).</param>
/// <param name="saving">Called as each save starts, after any earlier save has ended (the coordinator publishes its trial counts).</param>
internal sealed class SweepTrialStore(string sweepId, IGrainFactory grains, Func<List<TrialResult>> trials, Action saving, ILogger logger)
{
    /// <summary>How long further tries of a save whose trial grain's node is being lost may start (<see cref="SaveAsync"/>):
    /// longer than the membership takes to declare a dead node (Node:FailureDetection: 16 s at most by default; Orleans' own
    /// defaults about 30 s), after which the grain is activated on another node.</summary>
    private static readonly TimeSpan SaveRetryFor = TimeSpan.FromSeconds(45);

    /// <summary>The pauses before those further tries.</summary>
    private static readonly TimeSpan[] SaveRetryDelays =
        [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(15)];

    private readonly HashSet<int> _unsaved = [];
    private Task _saving = Task.CompletedTask;  // the latest SaveAsync

    /// <summary>Marks trial <paramref name="index"/> changed in memory: the next <see cref="SaveAsync"/> stores it.</summary>
    public void Changed(int index) => _unsaved.Add(index);

    /// <summary>
    /// Persists every trial changed since the last call. A trial stays marked unsaved until a save of it succeeds. Saves
    /// that fail because a trial grain's node is being lost (timed out or rejected: <see cref="GrainRelocation.InProgress"/>,
    /// what the trial runner polls through) are tried again after the pauses of <see cref="SaveRetryDelays"/> while
    /// <see cref="SaveRetryFor"/> lasts (a save that times out takes the 30 s call timeout itself, so a count of tries alone
    /// let it run for minutes); any other failure, or the last, reaches the caller.
    /// One save runs at a time: a call while one is in flight (a resume's beside the driver's) waits for it, then saves
    /// what is still unsaved. Two at once could store a trial's older state last (the driver's save of a failed trial
    /// landing after the resume's save of it pending), and the resume returned before the earlier save was done.
    /// </summary>
    public Task SaveAsync() => _saving = SaveAfterAsync(_saving);

    private async Task SaveAfterAsync(Task inFlight)
    {
        await inFlight.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);  // its failure is its caller's
        saving();
        var attempt = 0;
        var giveUp = DateTime.UtcNow + SaveRetryFor;
        while (_unsaved.Count > 0)
        {
            var batch = _unsaved.ToList();
            _unsaved.Clear();  // a trial changed while its save runs is marked again, and saved by the next pass
            var saves = Task.WhenAll(batch.Select(i => Trial(i).SaveAsync(trials()[i])));
            try
            {
                await saves;
            }
            catch (Exception e)
            {
                _unsaved.UnionWith(batch);
                if (attempt == SaveRetryDelays.Length || DateTime.UtcNow + SaveRetryDelays[attempt] > giveUp
                    || saves.Exception?.InnerExceptions.All(GrainRelocation.InProgress) != true) throw;
                logger.LogWarning("Sweep {Sweep} could not save {Trials} trial results ({Error}); trying again in {Delay}", sweepId, batch.Count, e.Message, SaveRetryDelays[attempt]);
                await Task.Delay(SaveRetryDelays[attempt++]);
            }
        }
    }

    /// <summary>Overlays the trial results saved after the coordinator's record was last written (a coordinator taking
    /// the sweep over).</summary>
    public async Task LoadAsync()
    {
        var current = trials();
        var saved = await Task.WhenAll(current.Select(t => Trial(t.Index).GetAsync()));
        foreach (var result in saved.OfType<TrialResult>()) current[result.Index] = result;
    }

    private ISweepTrialGrain Trial(int index) => grains.GetGrain<ISweepTrialGrain>(ISweepTrialGrain.Key(sweepId, index));
}
