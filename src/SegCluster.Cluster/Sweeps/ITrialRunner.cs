using SegCluster.Abstractions.Messages;
namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// Runs one trial for the sweep coordinator. The default submits it to an <c>ExperimentGrain</c> on the trial's
/// workers (<see cref="ExperimentTrialRunner"/>); a scheduler can take its place, and tests and benchmarks use
/// scripted or no-op runners.
/// Contract: called on the sweep grain's scheduler; <paramref name="progress"/> must be invoked from that context
/// (await without ConfigureAwait(false)) in step order; when it returns false the runner stops the trial and returns
/// <see cref="Abstractions.Sweeps.TrialState.Stopped"/>. Cancellation of <paramref name="cancellationToken"/> ends
/// the trial as Cancelled. Failures of the trial itself are returned as Failed, not thrown.
/// </summary>
public interface ITrialRunner
{
    Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken);

    /// <summary>Follows <paramref name="launch"/>'s experiment, started already (by an earlier coordinator of the sweep, lost
    /// since), to its end as <see cref="RunAsync"/> follows one it started, with the same contract: its progress after
    /// <paramref name="fromStep"/> (what the trial recorded) is reported; one that completed meanwhile ends at once.</summary>
    Task<TrialOutcome> FollowAsync(TrialLaunch launch, int fromStep, Func<TrialProgress, bool> progress, CancellationToken cancellationToken);

    /// <summary>What became of <paramref name="experimentId"/>, a trial's attempt an earlier, lost coordinator launched: its
    /// state, or null when it is unknown, does not answer in time, or is recorded running on workers that run something
    /// else (a process killed with its workers). Completed or still going (Pending, Running): the coordinator follows it
    /// (<see cref="FollowAsync"/>); otherwise it launches the trial again.</summary>
    Task<ExperimentState?> StateOfAsync(string experimentId);

    /// <summary>Stops what an earlier, lost coordinator launched as <paramref name="experimentId"/>, if it still runs,
    /// before the trial is launched again.</summary>
    Task AbandonAsync(string experimentId);

    /// <summary>The last checkpoint <paramref name="experimentId"/> (an earlier attempt of a trial) recorded, or null when it
    /// has none or cannot say: a trial launched again continues from it, as Ray Tune restores a trial from its checkpoint.</summary>
    Task<CheckpointRecord?> LastCheckpointAsync(string experimentId);
}
