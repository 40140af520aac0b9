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

    /// <summary>Stops what an earlier, lost coordinator launched as <paramref name="experimentId"/>, if it still runs,
    /// before the trial is launched again.</summary>
    Task AbandonAsync(string experimentId);

    /// <summary>The last checkpoint <paramref name="experimentId"/> (an earlier attempt of a trial) recorded, or null when it
    /// has none or cannot say: a trial launched again continues from it, as Ray Tune restores a trial from its checkpoint.</summary>
    Task<CheckpointRecord?> LastCheckpointAsync(string experimentId);
}
