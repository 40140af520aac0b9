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

    [Fact]
    public async Task Validations_are_recorded_and_the_best_checkpoint_scores_the_best_miou()
    {
        var spec = new ExperimentSpec
        {
            Name = "validate-every",
            Workers = 2,
            Seed = 3,
            Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 32, ValidationCount = 6 },
            Model = new ModelSpec { Name = "encoder-decoder", Width = 8, Norm = "bn" },
            Training = new TrainingSpec { Steps = 6, BatchPerWorker = 2, LearningRate = 0.05, ValidateEvery = 2, EvaluationBatch = 3 },
        };
        Assert.Empty(spec.Validate());
        var experimentId = $"validate-every-{Guid.NewGuid():N}";
        ExperimentStatus status;
        await using (var cluster = await EmbeddedTestNode.StartAsync(2, _checkpoints))
        {
            var experiment = cluster.Grains.GetGrain<IExperimentGrain>(experimentId);
            await experiment.StartAsync(spec, cluster.WorkerIds);
            var deadline = DateTime.UtcNow + Limit;
            status = await experiment.GetStatusAsync();
            while (!status.State.IsFinal() && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                status = await experiment.GetStatusAsync();
            }
        }
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

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
