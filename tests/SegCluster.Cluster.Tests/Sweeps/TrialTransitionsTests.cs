using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>A trial's result at each transition: what a new attempt keeps of the earlier one, when a failure is retried,
/// and which values a trial ends with.</summary>
public sealed class TrialTransitionsTests
{
    private static readonly DateTime Now = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private static readonly SweepSpec LossSweep = new() { Metric = SweepSpec.Loss, Mode = SweepSpec.Min };
    private static readonly SweepSpec MeanIoUSweep = new() { Metric = SweepSpec.MeanIoU };

    /// <summary>Attempt 1 reached step 12 with rung values at 1, 3 and 9 and ended failed with a loss and a finish time.</summary>
    private static readonly TrialResult FailedAttempt = new()
    {
        Index = 4, Name = "s-t004", State = TrialState.Failed, Attempt = 1, ExperimentId = "sweep-1/s-t004/a1", Steps = 12,
        Metric = 0.3, FinalLoss = 0.3, MeanIoU = 0.7, PixelAccuracy = 0.8, Reason = "boom", Failures = 1,
        StartedAt = Now.AddHours(-1), FinishedAt = Now.AddMinutes(-1), Workers = ["w0"],
        Curve = [new CurvePoint(12, 0.3)], Validations = [new CurvePoint(9, 0.7)],
        Rungs = [new CurvePoint(1, 0.9), new CurvePoint(3, 0.5), new CurvePoint(9, 0.3)],
    };

    [Fact]
    public void A_relaunch_from_a_checkpoint_keeps_the_rungs_up_to_it_and_nothing_of_the_earlier_result()
    {
        var running = TrialTransitions.Launched("sweep-1", FailedAttempt, ["w1", "w2"], new CheckpointRecord(5, "/ckpt/a1/step-5.ckpt"), Now);

        Assert.Equal((TrialState.Running, 2, "sweep-1/s-t004/a2"), (running.State, running.Attempt, running.ExperimentId));
        Assert.Equal(["w1", "w2"], running.Workers);
        Assert.Equal((5, (int?)5, "/ckpt/a1/step-5.ckpt"), (running.Steps, running.ResumedFromStep, running.ResumedFromPath));
        Assert.Equal([new CurvePoint(1, 0.9), new CurvePoint(3, 0.5)], running.Rungs);
        Assert.IsType<List<CurvePoint>>(running.Rungs);  // Redis storage's JSON must resolve the list's type
        Assert.Empty(running.Curve);
        Assert.Empty(running.Validations);
        Assert.Equal(((double?)null, (double?)null, (double?)null, (double?)null), (running.Metric, running.FinalLoss, running.MeanIoU, running.PixelAccuracy));
        Assert.Equal(((DateTime?)Now, (DateTime?)null, (double?)null), (running.StartedAt, running.FinishedAt, running.Seconds));
        Assert.Equal(1, running.Failures);  // counted until the trial ends or a resume gives the budget back
    }

    [Fact]
    public void A_relaunch_without_a_checkpoint_starts_from_scratch_with_no_rungs()
    {
        var running = TrialTransitions.Launched("sweep-1", FailedAttempt, ["w1"], null, Now);

        Assert.Equal((0, (int?)null, (string?)null), (running.Steps, running.ResumedFromStep, running.ResumedFromPath));
        Assert.Empty(running.Rungs);
    }

    [Fact]
    public void A_failure_is_retried_while_max_failures_allows_and_never_otherwise()
    {
        var attempt = FailedAttempt with { State = TrialState.Running, Failures = 0, Attempt = 2 };
        var failed = new TrialOutcome(TrialState.Failed, 7, 0.4, Error: "rank 1 died");

        var retried = TrialTransitions.Retried(attempt, failed, maxFailures: 2);
        Assert.Equal((TrialState.Pending, 1), (retried!.State, retried.Failures));
        Assert.Equal("attempt 2 failed (rank 1 died); launched again (retry 1 of max_failures 2)", retried.Reason);

        Assert.Null(TrialTransitions.Retried(attempt with { Failures = 2 }, failed, maxFailures: 2));  // spent
        Assert.Null(TrialTransitions.Retried(attempt, failed, maxFailures: 0));
        Assert.Null(TrialTransitions.Retried(attempt, new TrialOutcome(TrialState.Completed, 7, 0.4), maxFailures: 2));
    }

    [Fact]
    public void A_diverged_attempt_ends_with_no_loss_and_no_metric_whatever_it_reported()
    {
        var attempt = FailedAttempt with { State = TrialState.Running, Metric = 0.2, Reason = null };

        var ended = TrialTransitions.Ended(LossSweep, attempt, new TrialOutcome(TrialState.Completed, 20, double.NaN), Now);

        Assert.Equal((TrialState.Completed, 20), (ended.State, ended.Steps));
        Assert.Equal(((double?)null, (double?)null), (ended.FinalLoss, ended.Metric));
        Assert.Equal(((double?)null, (double?)null), (ended.MeanIoU, ended.PixelAccuracy));  // no evaluation: none of the earlier attempt's
        Assert.Equal((DateTime?)Now, ended.FinishedAt);
    }

    [Fact]
    public void A_stopped_trial_keeps_its_last_validation_metric_and_a_completed_one_takes_its_evaluation()
    {
        var attempt = FailedAttempt with { State = TrialState.Running, Metric = 0.61, Steps = 9 };

        var stopped = TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Stopped, 3, 0.5), Now);
        Assert.Equal((TrialState.Stopped, (double?)0.61, 9), (stopped.State, stopped.Metric, stopped.Steps));  // steps never go back
        Assert.Equal("boom", stopped.Reason);  // no error of its own: the reason it had stands

        var completed = TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Completed, 20, 0.5, new EvaluationReport(0.75, 0.9, [], [])), Now);
        Assert.Equal(((double?)0.75, (double?)0.75, (double?)0.9, (double?)0.5), (completed.Metric, completed.MeanIoU, completed.PixelAccuracy, completed.FinalLoss));

        var failed = TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Failed, 4, 0.5, Error: "rank 0 died"), Now);
        Assert.Equal((TrialState.Failed, (double?)null, "rank 0 died"), (failed.State, failed.Metric, failed.Reason));
    }

    /// <summary>PAPERS.md §4 reports per-class IoU (its rare classes) against the same model without the scheme: a trial keeps
    /// each class's IoU of its final evaluation, by name (an absent class's NaN as null), and a new attempt none of them;
    /// likewise the labelled share of its training labels (§2, §5: annotation cost against mIoU).</summary>
    [Fact]
    public void A_trial_keeps_each_classs_iou_of_its_evaluation_and_a_new_attempt_starts_without()
    {
        var attempt = FailedAttempt with { State = TrialState.Running };
        var evaluation = new EvaluationReport(0.5, 0.9, [0.9, double.NaN, 0.1], ["road", "sky", "rider"]);

        var completed = TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Completed, 20, 0.5, evaluation), Now);
        Assert.Equal(new Dictionary<string, double?> { ["road"] = 0.9, ["sky"] = null, ["rider"] = 0.1 }, completed.ClassIoU);
        Assert.Equal(["road", "sky", "rider"], completed.ClassIoU!.Keys);  // the evaluation's order: results.csv's columns

        Assert.Null(TrialTransitions.Launched("sweep-1", completed, ["w1"], null, Now).ClassIoU);

        // The labelled share of its training labels likewise: the ended attempt's, none while a new one runs.
        var blocks = TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Completed, 20, 0.5, evaluation) { LabelledFraction = 0.0625 }, Now);
        Assert.Equal(0.0625, blocks.LabelledFraction);
        Assert.Null(TrialTransitions.Launched("sweep-1", blocks, ["w1"], null, Now).LabelledFraction);
        Assert.Null(TrialTransitions.Ended(MeanIoUSweep, attempt, new TrialOutcome(TrialState.Failed, 4, 0.5, Error: "rank 0 died"), Now).ClassIoU);
    }

    [Fact]
    public void A_resumed_trial_gets_its_retries_back_and_a_failed_one_says_why_it_runs_again()
    {
        var again = TrialTransitions.Again(FailedAttempt, "--retry-failed");
        Assert.Equal((TrialState.Pending, 0), (again.State, again.Failures));
        Assert.Equal("attempt 1 failed (boom); launched again (--retry-failed)", again.Reason);

        var cancelled = TrialTransitions.Again(FailedAttempt with { State = TrialState.Cancelled, Reason = "the sweep was cancelled" }, "resumed");
        Assert.Equal((TrialState.Pending, (string?)null), (cancelled.State, cancelled.Reason));
        Assert.Equal(FailedAttempt.Rungs, cancelled.Rungs);  // kept until the relaunch knows its checkpoint
    }
}
