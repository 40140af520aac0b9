using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Embedded;
using SegCluster.Cluster.Evaluation;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// training.validate_every on a real embedded 2-worker cluster: rank 0 validates every N steps and after the last, the
/// experiment keeps the points in its state, and best.ckpt is the checkpoint of the best mIoU: rebuilt from its own
/// metadata and evaluated again, it scores exactly the recorded mIoU.
/// </summary>
public sealed class PeriodicValidationTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);  // 6 tiny steps; generous for 2 loaded cores
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-validate-");

    private static readonly ExperimentSpec Spec = new()
    {
        Name = "validate-every",
        Workers = 2,
        Seed = 3,
        Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 32, ValidationCount = 6 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 8, Norm = "bn" },
        Training = new TrainingSpec { Steps = 6, BatchPerWorker = 2, LearningRate = 0.05, ValidateEvery = 2, EvaluationBatch = 3 },
    };

    [Fact]
    public async Task Validations_are_recorded_and_the_best_checkpoint_scores_the_best_miou()
    {
        var spec = Spec;
        Assert.Empty(spec.Validate());
        var status = await RunAsync(spec);
        Assert.True(status.State == ExperimentState.Completed, $"{status.State}: {status.Error}");
        var best = status.BestCheckpoint;
        Assert.NotNull(best);
        Assert.Equal([2, 4, 6], status.Validations.Select(v => v.Step));
        Assert.All(status.Validations, v => Assert.Equal(4, v.Evaluation.ClassIoU.Count));
        // The final evaluation is the last validation, not a second pass.
        Assert.Equal(status.Validations[^1].Evaluation.MeanIoU, status.Evaluation!.MeanIoU);
        var bestPoint = status.Validations.First(v => v.Evaluation.MeanIoU == status.Validations.Max(p => p.Evaluation.MeanIoU));
        Assert.Equal(bestPoint.Step, best.Step);
        Assert.Equal("best.ckpt", Path.GetFileName(best.Path));
        Assert.StartsWith(_checkpoints.FullName, best.Path, StringComparison.Ordinal);  // not the working directory

        using var rebuilt = CheckpointModel.Load(best.Path);
        Assert.Equal(bestPoint.Evaluation.ClassNames, rebuilt.ClassNames);
        var validation = new SyntheticSceneDataset(SpecMapping.ValidationData(spec));
        var again = Evaluator.Evaluate(rebuilt.Model, validation, Enumerable.Range(0, validation.Count).ToList(), 3, CPU);
        Assert.Equal(bestPoint.Evaluation.MeanIoU, again.MeanIoU, precision: 12);
    }

    /// <summary>A run resumed under a new id from another run's checkpoint keeps the best that checkpoint records (as
    /// mmengine keeps best_score): before, its first validation always wrote best.ckpt, so a resumed run under the same id
    /// replaced a better best.ckpt with a worse one. It writes no best.ckpt of its own then, and reports the earlier run's
    /// one, whose path the checkpoint records, as its best checkpoint (before, it reported none). The resumed run trains at
    /// a negligible learning rate with group norm (no running statistics), so its weights, and its score, are those of the
    /// step it resumed from: never better than the best.</summary>
    [Fact]
    public async Task A_run_resumed_under_a_new_id_that_does_not_beat_the_earlier_best_reports_the_earlier_best_checkpoint()
    {
        var first = Spec with { Model = Spec.Model with { Norm = "gn" }, Training = Spec.Training with { Steps = 4, CheckpointEvery = 2 } };
        var original = await RunAsync(first);
        Assert.True(original.State == ExperimentState.Completed, $"{original.State}: {original.Error}");
        var bestPoint = original.Validations.MaxBy(v => v.Evaluation.MeanIoU)!;
        var earlierBest = original.BestCheckpoint!;
        Assert.Equal(bestPoint.Step, earlierBest.Step);
        var checkpoint = original.Checkpoint!.Path;
        var recorded = CheckpointStore.ReadMetadata(checkpoint).Best;
        Assert.Equal(new BestValidation(TrainingSpec.MeanIoUMetric, bestPoint.Evaluation.MeanIoU, bestPoint.Step, earlierBest.Path), recorded);

        var resumed = await RunAsync(first with { Training = first.Training with { Steps = 6, LearningRate = 1e-12, ResumeFrom = checkpoint } });
        Assert.True(resumed.State == ExperimentState.Completed, $"{resumed.State}: {resumed.Error}");
        Assert.Equal(new CheckpointRecord(4, checkpoint), resumed.ResumedFrom);  // where a Ctrl+C before its own checkpoint points
        Assert.Equal(6, Assert.Single(resumed.Validations).Step);
        Assert.True(resumed.Validations[0].Evaluation.MeanIoU <= recorded!.Score, "the resumed run scored better than it can");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(resumed.Checkpoint!.Path)!, "best.ckpt")));
        Assert.Equal(earlierBest, resumed.BestCheckpoint);  // the earlier run's best.ckpt holds the best weights
        Assert.Equal(new EarlierBest(TrainingSpec.MeanIoUMetric, recorded.Score, recorded.Step, earlierBest.Path), resumed.EarlierBest);
        Assert.Equal(recorded, CheckpointStore.ReadMetadata(resumed.Checkpoint.Path).Best);  // and passes it on, path and all
    }

    /// <summary>A run resumed under a new id whose validation beats the best its checkpoint records writes its own best.ckpt,
    /// which takes over as its best checkpoint (and as the best its checkpoints pass on). The first run trains at a
    /// negligible learning rate, so its best is the untrained network's score, which the resumed run's real steps beat.</summary>
    [Fact]
    public async Task A_run_resumed_under_a_new_id_that_beats_the_earlier_best_reports_its_own_best_checkpoint()
    {
        var first = Spec with { Model = Spec.Model with { Norm = "gn" }, Training = Spec.Training with { Steps = 4, CheckpointEvery = 2, LearningRate = 1e-12 } };
        var original = await RunAsync(first);
        Assert.True(original.State == ExperimentState.Completed, $"{original.State}: {original.Error}");
        var recorded = CheckpointStore.ReadMetadata(original.Checkpoint!.Path).Best!;

        var resumed = await RunAsync(first with { Training = first.Training with { Steps = 8, LearningRate = 0.05, ResumeFrom = original.Checkpoint.Path } });
        Assert.True(resumed.State == ExperimentState.Completed, $"{resumed.State}: {resumed.Error}");
        var bestPoint = resumed.Validations.MaxBy(v => v.Evaluation.MeanIoU)!;
        Assert.True(bestPoint.Evaluation.MeanIoU > recorded.Score, $"the resumed run's best {bestPoint.Evaluation.MeanIoU} did not beat {recorded.Score}");
        var own = Path.Combine(Path.GetDirectoryName(resumed.Checkpoint!.Path)!, "best.ckpt");
        Assert.Equal(new CheckpointRecord(bestPoint.Step, own), resumed.BestCheckpoint);
        Assert.Null(resumed.EarlierBest);
        Assert.Equal(new BestValidation(TrainingSpec.MeanIoUMetric, bestPoint.Evaluation.MeanIoU, bestPoint.Step, own), CheckpointStore.ReadMetadata(resumed.Checkpoint.Path).Best);
    }

    private async Task<ExperimentStatus> RunAsync(ExperimentSpec spec)
    {
        await using var cluster = await EmbeddedTestNode.StartAsync(2, _checkpoints);
        var experiment = cluster.Grains.GetGrain<IExperimentGrain>($"validate-every-{Guid.NewGuid():N}");
        await experiment.StartAsync(spec, cluster.WorkerIds);
        var deadline = DateTime.UtcNow + Limit;
        var status = await experiment.GetStatusAsync();
        while (!status.State.IsFinal() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            status = await experiment.GetStatusAsync();
        }
        return status;
    }

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
