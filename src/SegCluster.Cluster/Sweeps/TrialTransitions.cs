using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// How a trial's result changes as it is launched, ends, or is set back to pending (a retry under max_failures, or a
/// resume). Pure: the sweep's coordinator (<c>SweepGrain</c>) applies each to its record in memory and persists it.
/// </summary>
public static class TrialTransitions
{
    /// <summary>The reason of a trial the sweep's cancel ended: what tells a coordinator taking the sweep over that its
    /// predecessor was ending a cancel it could not record.</summary>
    public const string SweepCancelled = "the sweep was cancelled";

    /// <summary>Whether the sweep's cancel ended <paramref name="trial"/> (and no resume set it back to pending since).</summary>
    public static bool EndedBySweepCancel(TrialResult trial) => trial is { State: TrialState.Cancelled, Reason: SweepCancelled };

    /// <summary>The experiment of a trial's attempt: under the sweep's id, so its checkpoint folders nest under the sweep's.</summary>
    public static string ExperimentId(string sweepId, string trialName, int attempt) => $"{sweepId}/{trialName}/a{attempt}";

    /// <summary>
    /// <paramref name="trial"/> launched as its next attempt on <paramref name="workers"/>, continuing from
    /// <paramref name="checkpoint"/> (null: from scratch). Its rung values up to that step stand (it is not judged again at
    /// those rungs); those past it are dropped, as the new attempt trains those steps again.
    /// </summary>
    public static TrialResult Launched(string sweepId, TrialResult trial, string[] workers, CheckpointRecord? checkpoint, DateTime now)
    {
        var resumedFrom = checkpoint?.Step ?? 0;
        var attempt = trial.Attempt + 1;
        return trial with
        {
            State = TrialState.Running, Attempt = attempt, ExperimentId = ExperimentId(sweepId, trial.Name, attempt), Workers = workers,
            StartedAt = now, Curve = [], Validations = [], Steps = resumedFrom,
            // Nothing of the earlier attempt's result: a running trial shows none (a stale FinishedAt gave negative seconds),
            // and one that ends without a value of its own must not rank with the earlier attempt's.
            Metric = null, FinalLoss = null, MeanIoU = null, PixelAccuracy = null, ClassIoU = null, LabelledFraction = null, FinishedAt = null,
            BestCheckpoint = null, BestCheckpointProblem = null,
            // A List, not [.. ]: Redis storage's JSON names a list's type, and the compiler's own read-only list type does not resolve.
            Rungs = trial.Rungs.Where(r => r.Step <= resumedFrom).ToList(),
            ResumedFromStep = checkpoint?.Step, ResumedFromPath = checkpoint?.Path,
        };
    }

    /// <summary>The attempt failed and <paramref name="maxFailures"/> allows another: the trial back to pending with one more
    /// failure counted and the reason. Null when the outcome is no failure or the retries are spent.</summary>
    public static TrialResult? Retried(TrialResult trial, TrialOutcome outcome, int maxFailures)
    {
        if (outcome.State != TrialState.Failed || trial.Failures >= maxFailures) return null;
        var retry = trial.Failures + 1;
        return trial with
        {
            State = TrialState.Pending, Failures = retry,
            Reason = $"attempt {trial.Attempt} failed ({outcome.Error}); launched again (retry {retry} of max_failures {maxFailures})",
        };
    }

    /// <summary>How the attempt ended, with this attempt's own values only (<see cref="Launched"/> cleared the earlier
    /// attempt's): a diverged (NaN) loss is no result and ranks nowhere, whatever an earlier attempt reached.</summary>
    public static TrialResult Ended(SweepSpec spec, TrialResult trial, TrialOutcome outcome, DateTime now)
    {
        var evaluation = outcome.Evaluation;
        double? loss = double.IsNaN(outcome.FinalLoss) ? null : outcome.FinalLoss;
        return trial with
        {
            State = outcome.State,
            Steps = Math.Max(trial.Steps, outcome.Steps),
            FinalLoss = loss,
            MeanIoU = evaluation?.MeanIoU,
            PixelAccuracy = evaluation?.PixelAccuracy,
            ClassIoU = evaluation?.ClassIoUByName(),
            LabelledFraction = outcome.LabelledFraction,
            // A trial stopped early keeps its last validation's value (ASHA on a validation metric), if it had one.
            Metric = spec.Metric == SweepSpec.Loss ? loss
                : (evaluation is null ? null : spec.ValueOf(evaluation)) ?? (outcome.State == TrialState.Stopped ? trial.Metric : null),
            Reason = outcome.Error ?? trial.Reason,
            FinishedAt = now,
            // The attempt's own best.ckpt, or the earlier attempt's one it continued from and did not beat.
            BestCheckpoint = outcome.BestCheckpoint,
            BestCheckpointProblem = outcome.BestCheckpointProblem,
        };
    }

    /// <summary>A cancelled or failed trial a resume launches again (<paramref name="why"/>: what asked for it). It gets
    /// max_failures automatic retries afresh, as Ray Tune counts failures after a restore; a failed one keeps why it failed.</summary>
    public static TrialResult Again(TrialResult trial, string why) => trial with
    {
        State = TrialState.Pending,
        Failures = 0,
        Reason = trial.State == TrialState.Failed ? $"attempt {trial.Attempt} failed ({trial.Reason}); launched again ({why})" : null,
    };
}
