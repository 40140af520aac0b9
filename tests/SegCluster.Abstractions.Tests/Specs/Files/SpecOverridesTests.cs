using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs.Files;

/// <summary>`--set PATH=VALUE` of `train` and `quickstart`: applied in order, validated once after the last, every bad
/// assignment named.</summary>
public sealed class SpecOverridesTests
{
    [Fact]
    public void Overrides_replace_nested_fields_in_order_and_leave_the_rest()
    {
        var spec = SpecOverrides.Apply(new ExperimentSpec(), ["training.learning_rate=0.02", "seed=3", "model.name=unet", "seed=4"], "test");

        Assert.Equal(0.02, spec.Training.LearningRate);
        Assert.Equal(4, spec.Seed);  // the later assignment wins
        Assert.Equal("unet", spec.Model.Name);
        Assert.Equal(new ExperimentSpec().Training.BatchPerWorker, spec.Training.BatchPerWorker);
    }

    [Fact]
    public void A_value_may_contain_an_equals_sign()
    {
        var spec = SpecOverrides.Apply(new ExperimentSpec(), ["name=lr=0.02"], "test");
        Assert.Equal("lr=0.02", spec.Name);
    }

    [Fact]
    public void Every_bad_assignment_is_named_at_once()
    {
        var error = Assert.Throws<SpecFileException>(() =>
            SpecOverrides.Apply(new ExperimentSpec(), ["training.steps", "=3", "training.stepz=3", "training.steps=many", "seed=1"], "run.yaml"));

        Assert.Equal("run.yaml", error.SpecSource);
        Assert.Equal(4, error.Errors.Count);
        Assert.StartsWith("--set 'training.steps': expected PATH=VALUE", error.Errors[0], StringComparison.Ordinal);
        Assert.StartsWith("--set '=3': expected PATH=VALUE", error.Errors[1], StringComparison.Ordinal);
        Assert.Contains("'stepz' is not a field of training", error.Errors[2]);
        Assert.Contains("training.steps", error.Errors[3]);
    }

    /// <summary>A value that does not parse hides no other problem (before, `--set training.steps=abc --set workers=0` named
    /// only the first); the field it failed to set is not also blamed for the value it kept.</summary>
    [Fact]
    public void A_bad_value_and_the_other_fields_problems_are_named_together()
    {
        var error = Assert.Throws<SpecFileException>(() =>
            SpecOverrides.Apply(new ExperimentSpec { Training = new TrainingSpec { Steps = 0 } }, ["training.steps=abc", "workers=0"], "run.yaml"));

        Assert.Equal(2, error.Errors.Count);
        Assert.StartsWith("--set 'training.steps=abc'", error.Errors[0], StringComparison.Ordinal);
        Assert.StartsWith("workers: 0", error.Errors[1], StringComparison.Ordinal);
    }

    /// <summary>training.epochs decides the length when set: an override of the steps was ignored without a word.</summary>
    [Fact]
    public void Steps_set_over_epochs_are_refused_until_the_epochs_are_unset()
    {
        var byEpochs = new ExperimentSpec { Training = new TrainingSpec { Epochs = 3 } };
        var error = Assert.Throws<SpecFileException>(() => SpecOverrides.Apply(byEpochs, ["training.steps=5"], "run.yaml"));
        Assert.Equal("--set 'training.steps=5': training.epochs (3) is set too and decides the run's length; add --set training.epochs=null to train by steps.",
            error.Errors.Single());

        Assert.Equal(5, SpecOverrides.Apply(byEpochs, ["training.steps=5", "training.epochs=null"], "run.yaml").TotalSteps);
        // Setting the epochs over a file's steps switches the run to epochs, as asked.
        Assert.Equal(2, SpecOverrides.Apply(new ExperimentSpec { Training = new TrainingSpec { Steps = 7 } }, ["training.epochs=2"], "run.yaml").Training.Epochs);
    }

    [Fact]
    public void The_result_is_validated_after_the_last_override()
    {
        var broken = new ExperimentSpec { Training = new TrainingSpec { Steps = 0 } };
        Assert.NotEmpty(broken.Validate());

        // An override may repair what the file got wrong, and may break what it got right.
        Assert.Equal(5, SpecOverrides.Apply(broken, ["training.steps=5"], "test").Training.Steps);
        var error = Assert.Throws<SpecFileException>(() => SpecOverrides.Apply(new ExperimentSpec(), ["training.steps=0"], "test"));
        Assert.Contains(error.Errors, e => e.StartsWith("training.steps", StringComparison.Ordinal));
    }
}
