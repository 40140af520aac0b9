using Orleans.Concurrency;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// Coordinator of one sweep, keyed by sweep id: expands the spec into trials, runs them on the given workers
/// (at most max_concurrent_trials at once), stops ASHA losers and persists every result. A reactivated
/// coordinator (after its node is lost) resumes on its next call without rerunning finished trials.
/// </summary>
[Alias("SegCluster.ISweepGrain")]
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>Validates, expands and starts the sweep; throws <see cref="ArgumentException"/> listing every error (nothing starts then).</summary>
    [Alias("Start")] Task<SweepStatus> StartAsync(SweepSpec spec, IReadOnlyList<string> workerIds);
    /// <summary>Interleaves: answers while a cancel waits for the trials to stop.</summary>
    [Alias("GetStatus"), AlwaysInterleave] Task<SweepStatus> GetStatusAsync();
    /// <summary>Whether the sweep runs (started and not ended): what the scheduler's check asks of a sweep holding workers,
    /// every heartbeat, without the whole status (every trial and its curves).</summary>
    [Alias("IsRunning"), AlwaysInterleave] Task<bool> IsRunningAsync();
    /// <summary>Stops every running trial; pending trials are marked cancelled. Returns once the sweep has ended, or after
    /// Sweeps:CancelWait (20 s) with the trials still stopping (the status says when they have).</summary>
    [Alias("Cancel")] Task CancelAsync();
    /// <summary>Runs the sweep's unfinished trials again after it ended or its process stopped (Ray Tune's
    /// <c>Tuner.restore</c>): cancelled and interrupted trials, and with <paramref name="retryFailed"/> failed ones, are
    /// launched again on the sweep's workers (from their last checkpoint when they wrote one); finished trials keep their results. A sweep still running answers
    /// its status (and queues its failed trials again with <paramref name="retryFailed"/>); a completed one with nothing
    /// to run again answers its status unchanged. Throws <see cref="InvalidOperationException"/> for a sweep with no record.</summary>
    [Alias("Resume")] Task<SweepStatus> ResumeAsync(bool retryFailed);
}
