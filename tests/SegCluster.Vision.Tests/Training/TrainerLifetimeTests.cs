using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Normalization;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// A trainer borrows the caller's model (hooks, SyncBatchNorm's group, a reduction thread) and must hand it back as it
/// found it, both when it is disposed and when its constructor throws part-way: the model then trains under a new
/// trainer exactly as a twin that never had one.
/// </summary>
public class TrainerLifetimeTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 2, Seed: 7));

    /// <summary>A two-rank trainer's SyncBatchNorm layers sum through its stream, which ends with it: after Dispose they
    /// must compute per-rank statistics again, not call into the finished stream.</summary>
    [Fact]
    public void AModelTrainsAfterItsTrainerIsDisposed()
    {
        var (model, twin) = Twins();
        using (model)
        using (twin)
        {
            var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(5));
            new DataParallelTrainer(model, Criterion, Optimizer, group[0]).Dispose();

            Assert.All(model.modules().OfType<SyncBatchNorm2d>(), norm => Assert.Null(norm.Group));
            using var batch = TestData.Batch(Scenes, [0, 1]);
            model.train();
            using (TorchSharp.torch.NewDisposeScope()) Assert.Equal(batch.Images.shape[^2..], model.call(batch.Images).Logits.shape[^2..]);
            AssertTrainsAlike(model, twin, batch);
        }
    }

    /// <summary>
    /// A bucket size that rounds to 0 bytes fails in the bucket layout, after the overlap, SyncBatchNorm's group and the
    /// bf16 policy were put on the model: all of them must come off, so an fp32 trainer on the same model computes what it
    /// computes on a twin (with the bf16 casting hooks left behind it would not).
    /// </summary>
    [Fact]
    public void AConstructorThatThrowsLeavesTheModelAsItWas()
    {
        var (model, twin) = Twins();
        using (model)
        using (twin)
        {
            var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(5));
            Assert.ThrowsAny<ArgumentException>(() => new DataParallelTrainer(model, Criterion, Optimizer, group[0],
                new PrecisionOptions(PrecisionMode.Bf16Mixed), bucketMegabytes: 1e-9));

            Assert.All(model.modules().OfType<SyncBatchNorm2d>(), norm => Assert.Null(norm.Group));
            using var batch = TestData.Batch(Scenes, [0, 1]);
            AssertTrainsAlike(model, twin, batch);
        }
    }

    private static readonly SegmentationCriterion Criterion = new(new LossOptions());
    private static readonly OptimizerOptions Optimizer = new(LearningRate: 0.05);

    /// <summary>A SyncBatchNorm model and a copy of its weights (copied, not re-seeded: other test classes share torch's generator).</summary>
    private static (SegmentationModel Model, SegmentationModel Twin) Twins()
    {
        var model = TestData.Model("encoder-decoder", 4, 8, NormKind.SyncBatchNorm, seed: 3);
        var twin = TestData.Model("encoder-decoder", 4, 8, NormKind.SyncBatchNorm, seed: 3);
        TestData.CopyWeights(model, twin);
        return (model, twin);
    }

    /// <summary>One single-rank fp32 step on each: bit-identical parameters afterwards.</summary>
    private static void AssertTrainsAlike(SegmentationModel model, SegmentationModel twin, SegmentationBatch batch)
    {
        foreach (var m in new[] { model, twin })
        {
            using var trainer = new DataParallelTrainer(m, Criterion, Optimizer, new SingleRankReducer());
            Assert.True(double.IsFinite(trainer.Step(batch).Loss));
        }
        Assert.Equal(TestData.Snapshot(twin), TestData.Snapshot(model));
    }
}
