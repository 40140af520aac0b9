using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Embedded;
using SegCluster.Cluster.Evaluation;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static SegCluster.EndToEnd.Tests.ExperimentPolling;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// training.resume_from and training.load_from through the real path: an embedded node with two workers trains 8 steps
/// with a checkpoint every 4. A new experiment resuming from its step-4 checkpoint must end with the same weights, the
/// same losses for steps 5–8 and the same mIoU as the uninterrupted run, and number its checkpoints on from step 4. A run
/// loading that checkpoint's weights starts at step 0 with a fresh optimiser from those weights. Resuming the final
/// checkpoint is refused on submit.
/// </summary>
[Collection(BitExactTrainingCollection.Name)]
public sealed class ResumeAndLoadFromTests : IDisposable
{
    private const int Steps = 8, CheckpointEvery = 4;
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-resume-");

    private static readonly ExperimentSpec Spec = new()
    {
        Name = "resume",
        Workers = 2,
        Seed = 3,
        Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 24, ValidationCount = 4 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 8, Norm = "gn" },
        Training = new TrainingSpec { Steps = Steps, BatchPerWorker = 2, CheckpointEvery = CheckpointEvery, EvaluationBatch = 4 },
    };

    [Fact]
    public async Task A_resumed_run_ends_as_the_uninterrupted_one_and_load_from_starts_fresh_from_the_weights()
    {
        await using var node = await EmbeddedTestNode.StartAsync(workers: 2, _checkpoints);
        var (full, fullLosses) = await RunAsync(node, "full", Spec);
        var middle = CheckpointPath("full", CheckpointEvery);
        // Refused by the node on submit, before any rank starts.
        var finished = node.Grains.GetGrain<IExperimentGrain>("finished");
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            finished.StartAsync(Spec with { Training = Spec.Training with { ResumeFrom = full.Checkpoint!.Path } }, node.WorkerIds));
        Assert.Contains($"is already at step {Steps} of {Steps}: raise training.steps", refused.Message);
        Assert.Equal(ExperimentState.Pending, (await finished.GetStatusAsync()).State);

        var (resumed, resumedLosses) = await RunAsync(node, "resumed", Spec with { Training = Spec.Training with { ResumeFrom = middle } });
        Assert.Equal(Steps, resumed.Checkpoint!.Step);
        Assert.Equal(["step-000008.ckpt"], Directory.GetFiles(Path.Combine(_checkpoints.FullName, "resumed")).Select(Path.GetFileName));
        Assert.Equal(fullLosses.Where(p => p.Step > CheckpointEvery), resumedLosses);
        Assert.Equal(full.Evaluation!.MeanIoU, resumed.Evaluation!.MeanIoU);
        AssertSameWeights(Weights(full.Checkpoint!.Path), Weights(resumed.Checkpoint.Path), tolerance: 0);

        // A learning rate so small that two steps leave the weights where load_from put them. max_keep_checkpoints 1:
        // step 1's file is deleted once step 2's is recorded.
        var fineTune = Spec with { Training = Spec.Training with { Steps = 2, CheckpointEvery = 1, MaxKeepCheckpoints = 1, LearningRate = 1e-12, LoadFrom = middle } };
        var (loaded, loadedLosses) = await RunAsync(node, "loaded", fineTune);
        Assert.Equal([1, 2], loadedLosses.Select(p => p.Step));
        Assert.Equal(["step-000002.ckpt"], Directory.GetFiles(Path.Combine(_checkpoints.FullName, "loaded")).Select(Path.GetFileName));
        Assert.Equal(2, CheckpointStore.ReadMetadata(CheckpointPath("loaded", 2)).OptimizerSteps);  // fresh optimiser, not 4 + 2
        AssertSameWeights(Weights(middle), Weights(loaded.Checkpoint!.Path), tolerance: 1e-6f);
        // Meaningful only because the seed's initial weights (what a run without load_from starts from) are far from these.
        using var initial = SpecMapping.BuildModel(Spec);
        Assert.True(MaxDifference(Snapshot(initial), Weights(middle)) > 1e-3f);
    }

    private async Task<(ExperimentStatus Status, IReadOnlyList<CurvePoint> Losses)> RunAsync(EmbeddedCluster node, string id, ExperimentSpec spec)
    {
        var experiment = node.Grains.GetGrain<IExperimentGrain>(id);
        await experiment.StartAsync(spec, node.WorkerIds);
        var status = await UntilFinalAsync(experiment);
        Assert.True(status.State == ExperimentState.Completed, $"{id}: {status.State}: {status.Error}");
        return (status, await experiment.GetLossesAsync(afterStep: 0));
    }

    private string CheckpointPath(string experiment, int step) => Path.Combine(_checkpoints.FullName, experiment, $"step-{step:D6}.ckpt");

    private static float[][] Weights(string checkpoint)
    {
        using var model = CheckpointModel.Load(checkpoint);
        return Snapshot(model.Model);
    }

    private static float[][] Snapshot(SegmentationModel model) => [.. model.parameters().Select(p => p.detach().data<float>().ToArray())];

    private static float MaxDifference(float[][] a, float[][] b) => a.Zip(b).SelectMany(p => p.First.Zip(p.Second, (x, y) => Math.Abs(x - y))).Max();

    private static void AssertSameWeights(float[][] expected, float[][] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var difference = MaxDifference(expected, actual);
        Assert.True(difference <= tolerance, $"weights differ by up to {difference:E2} (tolerance {tolerance:E0})");
    }

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
