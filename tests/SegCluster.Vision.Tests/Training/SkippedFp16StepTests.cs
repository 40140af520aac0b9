using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// An fp16 step the loss scaler skips never reaches the optimiser (PyTorch's GradScaler skips optimizer.step()), so AdamW's
/// bias correction must not count it: training with an overflowing batch in the middle ends with the parameters of the
/// same training without it.
/// </summary>
public class SkippedFp16StepTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 4, Seed: 9));

    [Theory]
    [InlineData(OptimizerOptions.AdamW)]
    [InlineData(OptimizerOptions.Sgd)]
    public void ASkippedStepLeavesTheNextUpdateAsIfItHadNotHappened(string kind)
    {
        using var withSkip = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 6);
        using var without = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 6);
        TestData.CopyWeights(withSkip, without);
        using var first = TestData.Batch(Scenes, [0, 1]);
        using var second = TestData.Batch(Scenes, [2, 3]);
        using var overflow = TestData.Batch(Scenes, [0, 1]);
        using (no_grad()) overflow.Images[0, 0, 0, 0] = float.PositiveInfinity;

        using var a = Trainer(withSkip, kind);
        Assert.False(a.Step(first).Skipped);
        Assert.True(a.Step(overflow).Skipped, "the infinite pixel did not overflow the step");
        var afterSkip = a.Precision.Scaler!.State;
        Assert.False(a.Step(second).Skipped);

        using var b = Trainer(without, kind);
        Assert.False(b.Step(first).Skipped);
        b.Precision.Scaler!.Restore(afterSkip);  // the same loss scale for the last step: only the skipped step differs
        Assert.False(b.Step(second).Skipped);

        Assert.Equal(TestData.Snapshot(without), TestData.Snapshot(withSkip));
        Assert.Equal((3, 2), (a.CompletedSteps, a.OptimizerSteps));
    }

    /// <summary>A checkpoint keeps the optimiser's own count; one written before it was kept (no count) resumes with the
    /// completed steps, as such runs did.</summary>
    [Fact]
    public void CheckpointsKeepTheAppliedStepCount()
    {
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 6);
        using var overflow = TestData.Batch(Scenes, [0, 1]);
        using (no_grad()) overflow.Images[0, 0, 0, 0] = float.PositiveInfinity;
        using var trainer = Trainer(model, OptimizerOptions.AdamW);
        Assert.True(trainer.Step(overflow).Skipped);
        var directory = Directory.CreateTempSubdirectory("segcluster-skip-");
        try
        {
            string path = Path.Combine(directory.FullName, "last.ckpt");
            CheckpointStore.Save(path, trainer);
            Assert.Equal(0, CheckpointStore.ReadMetadata(path).OptimizerSteps);

            using var resumed = Trainer(model, OptimizerOptions.AdamW);
            Assert.Equal(1, CheckpointStore.Load(path, resumed));
            Assert.Equal((1, 0), (resumed.CompletedSteps, resumed.OptimizerSteps));
            resumed.RestoreOptimizerState(trainer.OptimizerStateSnapshot(), completedSteps: 1);
            Assert.Equal(1, resumed.OptimizerSteps);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>fp16-mixed from a loss scale of 256, low enough that these batches never overflow on their own.</summary>
    private static DataParallelTrainer Trainer(SegmentationModel model, string kind)
    {
        var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: 1e-3, WeightDecay: 0.01, Kind: kind), new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp16Mixed));
        trainer.Precision.Scaler!.Restore(new LossScalerState(256, 0, 0));
        return trainer;
    }
}
