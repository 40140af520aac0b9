using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>What a trial's reports do to its result: the curves (thinned), the metric, and ASHA's rungs (rungs at 1 and 3
/// steps, η = 3), also when the recorder is rebuilt from saved trials by a coordinator taking the sweep over.</summary>
public sealed class TrialProgressRecorderTests
{
    private static readonly SearchSpec AshaAt1And3 = new() { Kind = SearchSpec.Asha, MinBudget = 1, ReductionFactor = 3, Rungs = 2 };
    private static readonly SweepSpec LossGrid = new() { Metric = SweepSpec.Loss, Mode = SweepSpec.Min };
    private static readonly SweepSpec LossAsha = LossGrid with { Search = AshaAt1And3 };
    private static readonly SweepSpec MeanIoUAsha = new() { Metric = SweepSpec.MeanIoU, Search = AshaAt1And3 };

    private static TrialResult Trial(int index) => new() { Index = index, Name = $"s-t{index:D3}", State = TrialState.Running };

    private static EvaluationReport Validation(double miou) => new(miou, miou, [], []);

    [Fact]
    public void Past_max_curve_points_every_other_older_point_is_dropped_and_the_last_one_kept()
    {
        var recorder = TrialProgressRecorder.For(LossGrid, [], maxCurvePoints: 4);
        var trial = Trial(0);
        for (var step = 1; step <= 6; step++)
        {
            (trial, var continues, var atRung) = recorder.Record(trial, new TrialProgress(step, 10.0 / step));
            Assert.Equal((true, false), (continues, atRung));  // no ASHA: never stopped, no rung
        }
        Assert.Equal([2, 4, 5, 6], trial.Curve.Select(p => p.Step));
        Assert.Equal((6, (double?)(10.0 / 6)), (trial.Steps, trial.Metric));  // the loss is the metric
        Assert.Empty(trial.Rungs);
    }

    [Fact]
    public void Asha_on_the_loss_records_each_rung_once_and_stops_a_trial_below_the_cutoff_saying_why()
    {
        var recorder = TrialProgressRecorder.For(LossAsha, [], maxCurvePoints: 200);

        var (first, continues, atRung) = recorder.Record(Trial(0), new TrialProgress(1, 1.0));
        Assert.Equal((true, true), (continues, atRung));
        Assert.Equal([new CurvePoint(1, 1.0)], first.Rungs);
        (first, continues, atRung) = recorder.Record(first, new TrialProgress(2, 1.0));
        Assert.Equal((true, false), (continues, atRung));  // no new rung: nothing to save early

        var (second, goesOn, recorded) = recorder.Record(Trial(1), new TrialProgress(1, 5.0));
        Assert.Equal((false, true), (goesOn, recorded));
        Assert.Equal("ASHA: loss 5.0000 at the 1-step rung is not in the top 1/3 of the 1 trials recorded there", second.Reason);
        Assert.Equal([new CurvePoint(1, 5.0)], second.Rungs);
    }

    [Fact]
    public void Asha_on_a_validation_metric_judges_validations_not_training_steps()
    {
        var recorder = TrialProgressRecorder.For(MeanIoUAsha, [], maxCurvePoints: 200);

        var (trial, _, atRung) = recorder.Record(Trial(0), new TrialProgress(1, 0.5));
        Assert.False(atRung);
        Assert.Equal(((double?)null, 1), (trial.Metric, trial.Curve.Count));  // a loss is not the metric
        (trial, var continues, atRung) = recorder.Record(trial, new TrialProgress(1, 0.5, Validation(0.8)));
        Assert.Equal((true, true), (continues, atRung));
        Assert.Equal(((double?)0.8, 1), (trial.Metric, trial.Steps));
        Assert.Equal([new CurvePoint(1, 0.8)], trial.Validations);
        Assert.Equal([new CurvePoint(1, 0.8)], trial.Rungs);

        var lossRecorder = TrialProgressRecorder.For(LossAsha, [], maxCurvePoints: 200);
        var ignored = Trial(1);
        Assert.Same(ignored, lossRecorder.Record(ignored, new TrialProgress(1, 0.5, Validation(0.8))).Trial);  // no loss in a validation
    }

    /// <summary>A coordinator taking the sweep over rebuilds the rungs from the saved trials: their values judge the others,
    /// and an attempt that continued from a checkpoint (followed, not relaunched) is recorded at no rung before it.</summary>
    [Fact]
    public void Rebuilt_from_saved_trials_their_rung_values_judge_others_and_a_resumed_attempt_skips_rungs_before_its_checkpoint()
    {
        var saved = Trial(0) with { Rungs = [new CurvePoint(1, 1.0)] };
        var resumed = Trial(1) with { ResumedFromStep = 2 };
        var recorder = TrialProgressRecorder.For(LossAsha, [saved, resumed], maxCurvePoints: 200);

        Assert.False(recorder.Record(Trial(2), new TrialProgress(1, 5.0)).Continues);  // worse than trial 0's saved 1.0
        var (trial, continues, atRung) = recorder.Record(resumed, new TrialProgress(2, 9.0));
        Assert.Equal((true, false), (continues, atRung));
        Assert.Empty(trial.Rungs);
    }

    [Fact]
    public void A_relaunched_trial_is_judged_afresh_at_rungs_past_its_checkpoint()
    {
        var recorder = TrialProgressRecorder.For(LossAsha, [], maxCurvePoints: 200);
        var trial = recorder.Record(Trial(0), new TrialProgress(1, 1.0)).Trial;
        Assert.True(recorder.Record(trial, new TrialProgress(3, 1.0)).AtRung);
        Assert.False(recorder.Record(trial, new TrialProgress(3, 1.0)).AtRung);  // recorded at rung 3 already

        recorder.Relaunched(0, fromStep: 2);
        Assert.False(recorder.Record(trial, new TrialProgress(2, 1.0)).AtRung);  // rung 1 stands
        Assert.True(recorder.Record(trial, new TrialProgress(3, 0.5)).AtRung);
    }
}
