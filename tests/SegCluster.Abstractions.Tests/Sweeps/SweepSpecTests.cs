using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Tests.Sweeps;

/// <summary>Sweep validation names the field; axis values are applied to the base spec by path.</summary>
public sealed class SweepSpecTests
{
    [Theory]
    [InlineData("training.learning_rate", "0.01")]
    [InlineData("training.learningRate", "0.01")]
    [InlineData("Training.LearningRate", "0.01")]
    public void A_path_in_any_case_style_sets_the_field(string path, string value)
    {
        var spec = SpecPaths.With(new ExperimentSpec(), path, value);
        Assert.Equal(0.01, spec.Training.LearningRate);
        Assert.Equal("training.learning_rate", SpecPaths.Canonical(path));
        Assert.Equal(new ExperimentSpec().Training.Momentum, spec.Training.Momentum);
    }

    [Fact]
    public void Paths_set_nested_integers_strings_and_nullable_fields_without_touching_the_original()
    {
        var original = new ExperimentSpec();
        var spec = SpecPaths.With(SpecPaths.With(SpecPaths.With(original, "labels.factor", "8"), "labels.mode", "soft-ce"), "training.epochs", "3");
        Assert.Equal((8, "soft-ce", 3), (spec.Labels.Factor, spec.Labels.Mode, spec.Training.Epochs));
        Assert.Equal((1, "full", (int?)null), (original.Labels.Factor, original.Labels.Mode, original.Training.Epochs));
        Assert.Equal(7, SpecPaths.With(original, "seed", "7").Seed);
    }

    [Fact]
    public void An_unknown_path_names_the_segment_and_the_valid_fields()
    {
        var e = Assert.Throws<ArgumentException>(() => SpecPaths.With(new ExperimentSpec(), "training.lr", "0.1"));
        Assert.Contains("'lr' is not a field of training (did you mean 'learning_rate'?); valid:", e.Message);
        Assert.Contains("names a whole section", Assert.Throws<ArgumentException>(() => SpecPaths.Canonical("labels")).Message);
        Assert.Contains("is not an integer", Assert.Throws<ArgumentException>(() => SpecPaths.With(new ExperimentSpec(), "labels.factor", "big")).Message);
        Assert.False(SpecPaths.IsValid("total_steps", out var computed));  // derived, not settable
        Assert.Contains("not a field", computed);
    }

    [Fact]
    public void Validation_names_every_bad_field()
    {
        var sweep = new SweepSpec
        {
            Name = "bad name",
            Metric = "accuracy",
            Mode = "up",
            MaxConcurrentTrials = 0,
            MaxFailures = -1,
            Axes =
            [
                new SweepAxis { Path = "training.lr", Kind = SweepAxis.Grid, Values = ["0.1"] },
                new SweepAxis { Path = "labels.factor", Kind = SweepAxis.Grid, Values = ["2", "x"] },
                new SweepAxis { Path = "training.learning_rate", Kind = SweepAxis.LogUniform, Min = 0, Max = 1 },
                new SweepAxis { Path = "labels.mode", Kind = SweepAxis.Uniform, Min = 0, Max = 1 },
                new SweepAxis { Path = "seed", Kind = "normal" },
            ],
            Search = new SearchSpec { Kind = "bayes" },
        };
        var errors = string.Join("\n", sweep.Validate());
        foreach (var expected in new[]
                 {
                     "name:", "metric: 'accuracy'", "mode: 'up'", "max_concurrent_trials: 0", "max_failures: -1 must be 0 to 100", "axes[0].path:", "axes[1].values: labels.factor: 'x' is not an integer",
                     "axes[2].min: 0 must be positive", "axes[3].kind: a uniform axis needs a numeric field", "axes[4].kind: 'normal'", "search.kind: 'bayes'",
                 })
            Assert.Contains(expected, errors);
    }

    /// <summary>Axes that would sweep nothing, or fight the sweep: a range axis without bounds drew every trial from [0, 0],
    /// values on a range axis were ignored, uniform on an integer field skipped every trial at start, an axis on workers
    /// failed every trial, one on training.steps overrode trial_steps, and ASHA compared losses a label axis made incomparable.</summary>
    [Fact]
    public void Axes_that_sweep_nothing_or_fight_the_sweep_are_refused()
    {
        var sweep = new SweepSpec
        {
            TrialSteps = 40,
            Metric = SweepSpec.Loss,
            Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 10, ReductionFactor = 3, Rungs = 2 },
            Axes =
            [
                new SweepAxis { Path = "training.weight_decay", Kind = SweepAxis.Uniform },
                new SweepAxis { Path = "training.momentum", Kind = SweepAxis.Uniform, Values = ["0.8", "0.9"], Min = 0.8, Max = 0.9 },
                new SweepAxis { Path = "training.batch_per_worker", Kind = SweepAxis.Uniform, Min = 2, Max = 8 },
                new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["1"], Max = 3 },
                new SweepAxis { Path = "workers", Kind = SweepAxis.Grid, Values = ["1", "2"] },
                new SweepAxis { Path = "training.steps", Kind = SweepAxis.Grid, Values = ["10"] },
                new SweepAxis { Path = "labels.mode", Kind = SweepAxis.Grid, Values = ["full"] },
            ],
        };
        var errors = string.Join("\n", sweep.Validate());
        foreach (var expected in new[]
                 {
                     "axes[0]: a uniform axis needs min and max.", "axes[1].values: a uniform axis draws from min and max",
                     "axes[2].kind: training.batch_per_worker is an integer field, and a uniform axis draws fractions; use kind: integer.",
                     "axes[3]: min and max bound uniform", "axes: 'workers' is set by the sweep (workers_per_trial)",
                     "axes: 'training.steps' is set by the sweep (trial_steps)", "axes: ASHA compares training losses at rungs, and 'labels.mode'",
                 })
            Assert.Contains(expected, errors);
        var fine = sweep with { Axes = [new SweepAxis { Path = "training.batch_per_worker", Kind = SweepAxis.Integer, Min = 2, Max = 8 }] };
        Assert.Empty(fine.Validate());
        foreach (var path in new[] { "model.name", "model.spg.supervision", "training.auxiliary_weight" })  // auxiliary terms in the loss or not
            Assert.Contains($"'{path}' changes what the loss measures",
                string.Join("\n", (sweep with { Axes = [new SweepAxis { Path = path, Kind = SweepAxis.Grid, Values = [path == "model.name" ? "spgnet" : path == "model.spg.supervision" ? "false" : "0.2"] }] }).Validate()));
    }

    /// <summary>Without trial_steps, the base's epochs decide every trial's length: a steps axis changed nothing.</summary>
    [Fact]
    public void A_steps_axis_under_base_epochs_is_refused()
    {
        var sweep = new SweepSpec
        {
            Base = new ExperimentSpec { Training = new TrainingSpec { Epochs = 2 } },
            Axes = [new SweepAxis { Path = "training.steps", Kind = SweepAxis.Grid, Values = ["10", "20"] }],
        };
        Assert.Contains("axes: 'training.steps' would be ignored: base.training.epochs (2)", string.Join("\n", sweep.Validate()));
        Assert.Empty((sweep with { Base = new ExperimentSpec() }).Validate());
    }

    [Fact]
    public void Asha_needs_rungs_below_the_budget()
    {
        var sweep = new SweepSpec
        {
            TrialSteps = 20,
            Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 10, ReductionFactor = 3, Rungs = 2 },
        };
        Assert.Contains("the last rung is at 30 steps but a trial runs 20", Assert.Single(sweep.Validate()));
        Assert.Empty((sweep with { Metric = SweepSpec.Loss, Mode = SweepSpec.Min, TrialSteps = 40 }).Validate());
        Assert.Empty((sweep with { TrialSteps = 40 }).Validate());
    }

    /// <summary>ASHA on mIoU or pixel accuracy compares validations at its rungs (min_budget·η^k steps): every trial validates
    /// at each rung (validate_every = min_budget, validate_growth = η) and keeps its best checkpoint by the sweep's metric,
    /// so axes on those are refused; a label or loss axis, whose losses are not comparable, is then fine. On the loss nothing changes.</summary>
    [Fact]
    public void Asha_on_a_validation_metric_validates_every_trial_at_its_rungs_and_takes_loss_changing_axes()
    {
        var sweep = new SweepSpec
        {
            Metric = SweepSpec.PixelAccuracy, TrialSteps = 40,
            Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 10, ReductionFactor = 3, Rungs = 2 },
            Axes = [new SweepAxis { Path = "labels.mode", Kind = SweepAxis.Grid, Values = ["nearest", "soft-ce"] }],
        };
        Assert.Empty(sweep.Validate());
        var training = sweep.TrialBase.Training;
        Assert.Equal((10, 3, TrainingSpec.PixelAccuracyMetric), (training.ValidateEvery, training.ValidateGrowth, training.BestMetric));
        Assert.Equal([10, 30, 40], Enumerable.Range(1, 40).Where(s => training.ValidatesAfter(s, 40)));  // the rungs and the last step
        var onLoss = sweep with { Metric = SweepSpec.Loss, Mode = SweepSpec.Min, Axes = [] };
        Assert.Equal((0, 1, TrainingSpec.MeanIoUMetric), (onLoss.TrialBase.Training.ValidateEvery, onLoss.TrialBase.Training.ValidateGrowth, onLoss.TrialBase.Training.BestMetric));
        Assert.Equal(0, (sweep with { Search = new SearchSpec() }).TrialBase.Training.ValidateEvery);  // grid search: final evaluation only
        foreach (var path in new[] { "training.validate_every", "training.validate_growth", "training.best_metric" })
            Assert.Contains($"axes: '{path}' is set by the sweep (ASHA on pixel_accuracy validates at its rungs)",
                string.Join("\n", (sweep with { Axes = [new SweepAxis { Path = path, Kind = SweepAxis.Grid, Values = [path == "training.best_metric" ? "miou" : "2"] }] }).Validate()));
    }

    [Fact]
    public void The_mode_follows_the_metric_unless_set()
    {
        // ASHA on loss without a mode used to maximise the loss, keeping the worst trials at every rung.
        var asha = new SweepSpec { Metric = SweepSpec.Loss, TrialSteps = 40, Search = new SearchSpec { Kind = SearchSpec.Asha, MinBudget = 10, ReductionFactor = 3, Rungs = 2 } };
        Assert.Empty(asha.Validate());
        Assert.Equal((SweepSpec.Min, false), (asha.EffectiveMode, asha.Maximize));
        Assert.Equal((SweepSpec.Max, true), (new SweepSpec { Metric = SweepSpec.MeanIoU }.EffectiveMode, new SweepSpec { Metric = SweepSpec.PixelAccuracy }.Maximize));
        Assert.True(new SweepSpec { Metric = SweepSpec.MeanIoU, Mode = SweepSpec.Max }.Maximize);
    }

    [Theory]
    [InlineData(SweepSpec.Loss, SweepSpec.Max, "set mode: min")]
    [InlineData(SweepSpec.MeanIoU, SweepSpec.Min, "set mode: max")]
    [InlineData(SweepSpec.PixelAccuracy, SweepSpec.Min, "set mode: max")]
    public void A_mode_that_ranks_the_worst_trials_first_is_rejected_naming_both_fields(string metric, string mode, string fix)
    {
        var error = Assert.Single(new SweepSpec { Metric = metric, Mode = mode, TrialSteps = 40 }.Validate());
        Assert.StartsWith($"mode: '{mode}' with metric: '{metric}'", error);
        Assert.Contains(fix, error);
    }

    [Fact]
    public void The_trial_base_takes_the_sweeps_workers_and_budget_and_base_errors_are_prefixed()
    {
        var sweep = new SweepSpec { WorkersPerTrial = 3, TrialSteps = 12, Base = new ExperimentSpec { Training = new TrainingSpec { Epochs = 5 } } };
        Assert.Equal((3, 12, (int?)null), (sweep.TrialBase.Workers, sweep.TrialBase.TotalSteps, sweep.TrialBase.Training.Epochs));
        var bad = sweep with { Base = new ExperimentSpec { Device = "tpu" } };
        Assert.Contains(bad.Validate(), e => e.StartsWith("base.device:", StringComparison.Ordinal));
    }
}
