using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

public class TrainerTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 64, Seed: 11));

    [Fact]
    public void OneStepHasAFiniteLossAndChangesEveryParameterTensor()
    {
        using var model = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm);
        var before = TestData.Snapshot(model);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        using var batch = TestData.Batch(Scenes, [0, 1, 2, 3]);
        var result = trainer.Step(batch);

        Assert.True(double.IsFinite(result.Loss) && result.Loss > 0, $"loss {result.Loss}");
        Assert.Equal(4, result.Images);
        Assert.Equal(4L * 8, result.AllReduceBytes);  // 2 terms × (hi, lo, fraction, sum); one rank sends no gradient
        var after = TestData.Snapshot(model);
        for (int i = 0; i < before.Length; i++)
            Assert.NotEqual(before[i], after[i]);
        Assert.Equal(1, trainer.CompletedSteps);
    }

    /// <summary>
    /// The trainer's grads are views of its flat gradient buffer (DDP's gradient_as_bucket_view), strided like their
    /// parameters: after a second step each parameter's .grad holds what a plain backward on the weights before that
    /// step gives (so backward wrote into the buffer, and the first step's gradient was zeroed, not added to).
    /// </summary>
    /// <remarks>Tolerance 1e-4 relative L2 per tensor: contiguous runs the reference's kernels (equal in practice);
    /// channels_last runs other convolution kernels than the contiguous reference (other summation orders), seen up to
    /// ~1e-5 on the stem's weight gradient. A gradient that was not written, or added to the previous step's, is off by O(1).</remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AfterAStepEachGradHoldsTheGradientOfAPlainBackward(bool channelsLast)
    {
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm, seed: 5);
        using var reference = TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm, seed: 5);
        var criterion = new SegmentationCriterion(new LossOptions());
        var precision = new PrecisionOptions(PrecisionMode.Fp32, channelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous);
        using var trainer = new DataParallelTrainer(model, criterion, new OptimizerOptions(LearningRate: 0.05, Momentum: 0, WeightDecay: 0),
            new SingleRankReducer(), precision);
        using var first = TestData.Batch(Scenes, [0, 1, 2, 3]);
        using var second = TestData.Batch(Scenes, [4, 5, 6, 7]);

        trainer.Step(first);
        TestData.CopyWeights(model, reference);
        trainer.Step(second);
        reference.train();
        SegmentationCriterion.LocalLoss(criterion, reference.call(second.Images), second.Labels, second.Images).backward();

        foreach (var ((name, p), r) in model.named_parameters().Zip(reference.parameters()))
        {
            Assert.True(p.grad is not null, $"{name} has no grad");
            double relative = (p.grad - r.grad!).norm().item<float>() / Math.Max(r.grad!.norm().item<float>(), 1e-12);
            Assert.True(relative <= 1e-4, $"{name}: grad differs from a plain backward by {relative:E2} (relative L2)");
        }
    }

    [Fact]
    public void TrainingLowersTheLossOnAFixedBatch()
    {
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.05), new SingleRankReducer());
        using var batch = TestData.Batch(Scenes, [0, 1, 2, 3]);
        double first = trainer.Step(batch).Loss, last = first;
        for (int i = 0; i < 9; i++) last = trainer.Step(batch).Loss;
        Assert.True(last < 0.8 * first, $"loss {first} → {last}");
    }

    [Fact]
    public void NaNLossThrowsBeforeAnyParameterChanges()
    {
        using var model = TestData.Model("spgnet", 4, 8, NormKind.None);
        using (no_grad())
            model.parameters().First().flatten()[0] = tensor(float.NaN);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        var before = TestData.Snapshot(model);
        using var batch = TestData.Batch(Scenes, [0, 1]);

        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Step(batch));
        Assert.Contains("loss is NaN at step 1", error.Message);
        Assert.Contains("no parameter was changed", error.Message);
        Assert.Equal(before, TestData.Snapshot(model));  // float.Equals treats NaN == NaN
        Assert.Equal(0, trainer.CompletedSteps);
    }

    [Fact]
    public void EvaluatorReportsMetricsAndRestoresTrainMode()
    {
        using var model = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm);
        model.train();
        var metrics = Evaluator.Evaluate(model, Scenes, [0, 1, 2, 3, 4], batchSize: 2, CPU);
        Assert.True(model.training);
        Assert.Equal(4, metrics.ClassIoU.Count);
        Assert.InRange(metrics.PixelAccuracy, 0, 1);
        Assert.InRange(metrics.MeanIoU, 0, 1);
    }
}
