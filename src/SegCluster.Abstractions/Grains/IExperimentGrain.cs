using Orleans.Concurrency;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Grains;

/// <summary>Coordinator of one training run, keyed by experiment id. Its record (spec, workers, attempt, last
/// checkpoint, result) is persisted, so the grain can be reactivated on another node and carry on.</summary>
[Alias("SegCluster.IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Validates the spec, assigns ranks to the given workers and starts them. Throws
    /// <see cref="ArgumentException"/> listing every spec error; nothing starts then. <paramref name="scheduled"/>:
    /// the workers came from <see cref="ISchedulerGrain"/>, so a broken ring is re-formed on a new gang
    /// instead of failing the run.</summary>
    [Alias("Start")] Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds, bool scheduled = false);

    /// <summary>Re-forms the ring on <paramref name="workerIds"/> (a new attempt) from the last checkpoint;
    /// called by the scheduler when a waiting experiment's gang becomes free.</summary>
    [Alias("Resume")] Task ResumeAsync(IReadOnlyList<string> workerIds);

    /// <summary>The scheduler saw these workers' node leave the cluster; re-forms the ring if the current one uses them.</summary>
    [Alias("WorkersLost")] Task WorkersLostAsync(IReadOnlyList<string> workerIds);

    /// <summary>Interleaves with every other call (it only reads): a status poll does not wait for a checkpoint write.</summary>
    [Alias("GetStatus"), AlwaysInterleave] Task<ExperimentStatus> GetStatusAsync();
    [Alias("Cancel")] Task CancelAsync();
    /// <summary>Rank 0's training loss of every step after <paramref name="afterStep"/> (kept in memory by this activation).</summary>
    [Alias("GetLosses"), AlwaysInterleave] Task<IReadOnlyList<CurvePoint>> GetLossesAsync(int afterStep);

    // Called by workers (from their training threads). Reports of an attempt other than the current one are ignored.
    /// <summary>Interleaved with the coordinator's other calls, so it never queues behind a Redis write or a re-formation.
    /// A rank sends it without waiting, except for its last step: that answer orders the step reports before the rank's
    /// completion (not [OneWay]: one-way messages were measured overtaken by later requests, and a sweep reads a trial's
    /// final loss once its status is final). The loop needs no answer; a stop arrives as the worker's cancellation.</summary>
    [Alias("ReportStep"), AlwaysInterleave] Task ReportStepAsync(StepReport report);
    /// <summary>Rank 0 wrote a checkpoint; true when it became the run's last good checkpoint, false when the report was
    /// ignored (a stale attempt whose ring was already re-formed, or a finished run): rank 0 prunes older files only on true.</summary>
    [Alias("ReportCheckpoint")] Task<bool> ReportCheckpointAsync(int attempt, CheckpointRecord checkpoint);
    /// <summary>Rank 0 validated after <see cref="ValidationPoint.Step"/>; <paramref name="best"/> is set when that
    /// step's checkpoint became the best one (already written, atomically).</summary>
    [Alias("ReportValidation")] Task ReportValidationAsync(int attempt, ValidationPoint validation, CheckpointRecord? best);
    [Alias("ReportCompleted")] Task ReportCompletedAsync(int rank, int attempt, EvaluationReport? evaluation);
    /// <summary>A rank failed. A scheduled experiment re-forms its ring (up to a limit) when the failure is
    /// <paramref name="retryable"/> (a lost peer or node, a broken connection); otherwise the experiment fails: a run that
    /// diverged or a dataset that is unusable fails the same way again.</summary>
    [Alias("ReportFailed")] Task ReportFailedAsync(int rank, int attempt, string error, bool retryable = true);
    /// <summary>A worker's activation is being deactivated under a running rank its experiment did not stop (e.g. Orleans
    /// lost the silo holding its directory entry): its loop is cancelled and reports nothing, so this stands in for the
    /// rank's failure report (retryable). One-way: the deactivating worker must not wait on a coordinator whose recovery
    /// calls back into that worker (cancel, then the new gang's start), which queues behind the deactivation.</summary>
    [Alias("RankStopped"), OneWay] Task RankStoppedAsync(int rank, int attempt, string reason);
}
