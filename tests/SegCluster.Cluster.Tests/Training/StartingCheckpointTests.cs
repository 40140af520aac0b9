using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// training.resume_from and training.load_from are checked before any rank trains: a missing file, both fields, a
/// checkpoint already at the last step, another model section, class count or optimiser each give an error naming the
/// field and the fix; a fitting checkpoint resolves to its step.
/// </summary>
public sealed class StartingCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-start-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static ExperimentSpec Spec(int steps = 3) => new()
    {
        Workers = 1,
        Seed = 5,
        Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 8, ValidationCount = 2 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "none" },
        Training = new TrainingSpec { Steps = steps, BatchPerWorker = 2 },
    };

    /// <summary>A checkpoint of <paramref name="spec"/> after one optimiser step, written as a worker writes it.</summary>
    private string TrainOneStep(ExperimentSpec spec) => TrainOneStep(spec, Path.Combine(_dir, "step-000001.ckpt"));

    /// <summary>A checkpoint of <paramref name="spec"/> after one optimiser step, written at <paramref name="path"/> (recording
    /// <paramref name="best"/> as the run's best validation so far).</summary>
    internal static string TrainOneStep(ExperimentSpec spec, string path, BestValidation? best = null)
    {
        var data = new SyntheticSceneDataset(SpecMapping.TrainData(spec));
        using var model = SpecMapping.BuildModel(spec);
        using var trainer = new DataParallelTrainer(model, SpecMapping.Criterion(spec), SpecMapping.Optimizer(spec), new SingleRankReducer());
        using (var batch = SegmentationBatch.Collate([data.Get(0), data.Get(1)], CPU)) trainer.Step(batch);
        CheckpointStore.Save(path, trainer, SpecFiles.ToJson(spec), data.ClassNames, best);
        return path;
    }

    private static ExperimentSpec Resuming(ExperimentSpec spec, string path) => spec with { Training = spec.Training with { ResumeFrom = path } };

    private static ExperimentSpec Loading(ExperimentSpec spec, string path) => spec with { Training = spec.Training with { LoadFrom = path } };

    private static string Error(ExperimentSpec spec) => Assert.Single(StartingCheckpoint.Resolve(spec).Errors);

    [Fact]
    public void A_fitting_checkpoint_resumes_at_its_step_and_loads_for_fine_tuning()
    {
        var path = TrainOneStep(Spec());

        var (resumeFrom, errors, note, _) = StartingCheckpoint.Resolve(Resuming(Spec(), path));
        Assert.Empty(errors);
        Assert.Equal(new CheckpointRecord(1, path), resumeFrom);
        Assert.Null(note);
        // Fine-tuning may change everything but the network: another learning rate, optimiser and length.
        var fineTune = StartingCheckpoint.Resolve(Spec(steps: 1) with { Training = Spec(steps: 1).Training with { LearningRate = 0.001, Optimizer = "adamw", LoadFrom = path } });
        Assert.Empty(fineTune.Errors);
        Assert.Null(fineTune.ResumeFrom);
    }

    /// <summary>A resume on another layout is allowed (a run moved to fewer GPUs) but named: its data order is not the
    /// uninterrupted run's. Before, nothing said so.</summary>
    [Fact]
    public void A_resume_with_other_data_settings_is_allowed_with_a_note_naming_them()
    {
        var path = TrainOneStep(Spec());
        var moved = Spec() with { Workers = 2, Seed = 6, Training = Spec().Training with { BatchPerWorker = 1 } };

        var (resumeFrom, errors, note, _) = StartingCheckpoint.Resolve(Resuming(moved, path));
        Assert.Empty(errors);
        Assert.Equal(new CheckpointRecord(1, path), resumeFrom);
        Assert.Equal($"training.resume_from: '{path}' was trained with other data settings (workers 1 → 2, training.batch_per_worker 2 → 1, " +
                     "seed 5 → 6), so from step 1 on the data order is not the uninterrupted run's.", note);
        var halved = Spec() with { Training = Spec().Training with { BatchPerWorker = 1 } };
        Assert.EndsWith("(training.batch_per_worker 2 → 1), so from step 1 on the data order is not the uninterrupted run's; " +
                        "epochs of 4 steps become 8.", StartingCheckpoint.Resolve(Resuming(halved, path)).Note);
    }

    /// <summary>The best a resumed run starts with comes from the header the checks read. Before, the experiment read the
    /// file again after its preflight, so a file replaced between the two reads passed the checks as one checkpoint and
    /// seeded the best from another. It is kept only for a run that validates during training by the same metric.</summary>
    [Fact]
    public void A_resume_hands_on_the_best_its_checkpoint_records_to_a_run_validating_by_that_metric()
    {
        var best = new BestValidation(TrainingSpec.MeanIoUMetric, 0.25, 1, Path.Combine(_dir, "best.ckpt"));
        var path = TrainOneStep(Spec(), Path.Combine(_dir, "step-000001.ckpt"), best);
        var validating = Spec() with { Training = Spec().Training with { ValidateEvery = 1 } };
        var byAccuracy = validating with { Training = validating.Training with { BestMetric = TrainingSpec.PixelAccuracyMetric } };

        Assert.Equal(best, StartingCheckpoint.Resolve(Resuming(validating, path)).ResumedBest);
        Assert.Null(StartingCheckpoint.Resolve(Resuming(byAccuracy, path)).ResumedBest);
        Assert.Null(StartingCheckpoint.Resolve(Resuming(Spec(), path)).ResumedBest);  // no validation during training: nothing to beat
    }

    [Fact]
    public void A_missing_file_is_named_for_either_field()
    {
        var missing = Path.Combine(_dir, "no-such.ckpt");
        Assert.StartsWith($"training.resume_from: '{missing}' is not an existing file", Error(Resuming(Spec(), missing)));
        Assert.StartsWith($"training.load_from: '{missing}' is not an existing file", Error(Loading(Spec(), missing)));
    }

    [Fact]
    public void Both_fields_are_refused_by_the_spec_itself()
    {
        var both = Resuming(Loading(Spec(), "a.ckpt"), "b.ckpt");
        Assert.Contains(both.Validate(), e => e.StartsWith("training.resume_from and training.load_from: set one, not both"));
        Assert.Contains(Resuming(Spec(), " ").Validate(), e => e.StartsWith("training.resume_from: empty"));
    }

    [Fact]
    public void A_checkpoint_at_the_last_step_asks_for_more_steps()
    {
        var path = TrainOneStep(Spec(steps: 1));
        Assert.Equal($"training.resume_from: checkpoint '{path}' is already at step 1 of 1: raise training.steps to train further.",
            Error(Resuming(Spec(steps: 1), path)));
    }

    [Fact]
    public void Another_model_class_count_or_optimiser_is_named()
    {
        var path = TrainOneStep(Spec());
        var wider = Spec() with { Model = Spec().Model with { Width = 8 } };
        Assert.StartsWith($"training.resume_from: checkpoint '{path}' was trained with another model section (model.width: 4 in the checkpoint, 8 here)",
            Error(Resuming(wider, path)));
        Assert.Contains("does not fit the model: parameter", Error(Loading(wider, path)));
        var moreClasses = Spec() with { Dataset = Spec().Dataset with { NumClasses = 5 } };
        Assert.StartsWith($"training.load_from: checkpoint '{path}' predicts 4 classes but the dataset has 5", Error(Loading(moreClasses, path)));
        var adamw = Spec() with { Training = Spec().Training with { Optimizer = "adamw" } };
        // SGD keeps one value per parameter, AdamW two: the error names both counts.
        Assert.Matches(@"does not fit this trainer: the optimiser state has (\d+) values; this model's adamw trainer needs \d+", Error(Resuming(adamw, path)));
    }
}
