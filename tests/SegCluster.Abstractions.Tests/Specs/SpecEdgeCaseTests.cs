using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>Values at the edges of the spec's ranges: infinities, an overflowing global batch, an unset optional
/// field in a sweep, and a dataset folder that exists only on the nodes.</summary>
public sealed class SpecEdgeCaseTests
{
    [Theory]
    [InlineData("training.weight_decay")]
    [InlineData("training.auxiliary_weight")]
    public void An_infinite_weight_is_an_error_naming_the_field(string path)
    {
        var spec = SpecPaths.With(new ExperimentSpec(), path, "Infinity");
        Assert.Contains(spec.Validate(), e => e.StartsWith($"{path}: {double.PositiveInfinity} must be a finite number", StringComparison.Ordinal));
    }

    [Fact]
    public void A_batch_whose_global_size_overflows_an_int_is_out_of_range_not_a_negative_count()
    {
        // 1024 workers × 2^21 = 2^31: int arithmetic wraps to a negative global batch that any train_count "fills".
        var spec = new ExperimentSpec { Workers = SpecValidation.MaxWorkers, Training = new TrainingSpec { BatchPerWorker = 1 << 21 } };
        var error = Assert.Single(spec.Validate());
        Assert.StartsWith($"training.batch_per_worker: {1 << 21} is out of range; use 1 to ", error, StringComparison.Ordinal);
        Assert.Equal(1, spec.StepsPerEpoch);
    }

    [Theory]
    [InlineData("100000", "8192")]  // the suggestion is a side the spec takes, not the rounded 100000
    [InlineData("33", "32")]
    [InlineData("3", "16")]
    public void An_invalid_image_side_suggests_the_nearest_valid_one(string height, string nearest)
    {
        var spec = SpecPaths.With(new ExperimentSpec(), "dataset.height", height);
        var error = Assert.Single(spec.Validate());
        Assert.EndsWith($"between 16 and {DatasetSpec.MaxSide} (nearest: {nearest}).", error, StringComparison.Ordinal);
        Assert.Empty(SpecPaths.With(spec, "dataset.height", nearest).Validate());
    }

    /// <summary>A check that compares a field with another runs only when that other field is valid: an invalid field is the
    /// one error (quickstart --label-factor 3 also said "needs a down-sampling mode"; a negative learning rate also refused
    /// min_learning_rate 0).</summary>
    [Theory]
    [InlineData("labels.factor=3", "labels.factor: 3 is not supported")]
    [InlineData("training.learning_rate=-1", "training.learning_rate: -1 must be a positive number")]
    [InlineData("training.batch_per_worker=70000 training.accumulation_steps=3", "training.batch_per_worker: 70000 is out of range")]
    [InlineData("model.name=foo model.decoder_truncation=0.5", "model.name: 'foo' is unknown")]
    [InlineData("model.name=foo model.backbone=vit-b", "model.name: 'foo' is unknown")]
    [InlineData("model.backbone=nope model.output_stride=8", "model.backbone: 'nope' is not a backbone")]
    [InlineData("model.name=vit model.backbone=vit-b model.decoder_truncation=0", "model.decoder_truncation: 0 is out of range")]
    [InlineData("loss.kind=bogus", "loss.kind: 'bogus' is unknown")]
    [InlineData("loss.kind=class-suppression labels.mode=bogus", "labels.mode: 'bogus' is unknown")]
    public void An_invalid_field_is_the_one_error_not_also_the_checks_that_compare_with_it(string settings, string error)
    {
        var spec = settings.Split(' ').Select(s => s.Split('=')).Aggregate(new ExperimentSpec(), (x, kv) => SpecPaths.With(x, kv[0], kv[1]));
        Assert.StartsWith(error, Assert.Single(spec.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_checkpoint_count_to_keep_is_an_error_naming_the_field()
    {
        var spec = SpecPaths.With(new ExperimentSpec(), "training.max_keep_checkpoints", "-1");
        Assert.StartsWith("training.max_keep_checkpoints: -1 must be 0 (keep every checkpoint)", Assert.Single(spec.Validate()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("training.precision")]
    [InlineData("training.wire")]
    [InlineData("training.epochs")]
    public void The_value_null_unsets_an_optional_field(string path)
    {
        var set = SpecPaths.With(new ExperimentSpec(), path, path == "training.epochs" ? "3" : "fp32");
        var unset = SpecPaths.With(set, path, "null");
        Assert.Equal(SpecFiles.ToJson(new ExperimentSpec()), SpecFiles.ToJson(unset));
        Assert.Empty(unset.Validate());
    }

    [Fact]
    public void A_yaml_null_among_a_sweeps_values_unsets_the_field_in_that_trial()
    {
        using var dir = new TempDirectory("segcluster-sweep-");
        var file = Path.Combine(dir.FullName, "sweep.yaml");
        File.WriteAllText(file, "axes:\n  - path: training.precision\n    values: [~, bf16-mixed]\n");
        var axis = Assert.Single(SweepSpecFiles.Load(file).Axes);
        Assert.Null(SpecPaths.With(new ExperimentSpec(), axis.Path, axis.Values[0]).Training.Precision);
        Assert.Equal("bf16-mixed", SpecPaths.With(new ExperimentSpec(), axis.Path, axis.Values[1]).Training.Precision);
    }

    [Fact]
    public void A_dataset_folder_missing_on_the_client_passes_the_text_checks()
    {
        // Submitting to a cluster validates on the laptop; the folder need only exist on the nodes (DatasetSpecResolver).
        var spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = "/data/on/the/nodes", Height = 16, Width = 16 } };
        Assert.Empty(spec.Validate());
        Assert.StartsWith("dataset.path: empty;", Assert.Single((spec with { Dataset = spec.Dataset with { Path = " " } }).Validate()), StringComparison.Ordinal);
    }
}
