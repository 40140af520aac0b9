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
    /// <summary>Stops every running trial; pending trials are marked cancelled. Returns once the sweep has ended, or after
    /// Sweeps:CancelWait (20 s) with the trials still stopping (the status says when they have).</summary>
    [Alias("Cancel")] Task CancelAsync();
}
