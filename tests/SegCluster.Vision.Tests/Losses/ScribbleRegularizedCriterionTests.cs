using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Scribbles;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class ScribbleRegularizedCriterionTests
{
    private static ScribbleRegularizedCriterion Criterion(double weight = 1, double consistency = 1) =>
        new(new LossOptions(), new ScribbleLossOptions(Weight: weight, RgbPerUnit: 59, ConsistencyWeight: consistency));

    [Fact]
    public void RegulariserIsZeroForAConstantOneHotPrediction()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var logits = zeros(2, 3, 16, 16);
        logits[.., 1] = tensor(100f);  // softmax is one-hot on class 1 everywhere
        var (r, _) = Criterion().Regulariser(logits, randn(2, 3, 16, 16), nn.functional.normalize(randn(2, 4, 4, 4), dim: 1));
        Assert.InRange(r.item<float>(), 0f, 1e-7f);
        // A split prediction across a uniform image is penalised.
        logits[.., 1, .., TensorIndex.Slice(0, 8)] = tensor(-100f);
        var (split, _) = Criterion().Regulariser(logits, zeros(2, 3, 16, 16), null);
        Assert.True(split.item<float>() > 0.1f, $"R = {split.item<float>()}");
    }

    [Fact]
    public void KernelIsSymmetricWithUnitDiagonalAndDecaysWithColourDistance()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var images = randn(1, 3, 16, 16);
        var kernel = Criterion().Kernel(images, nn.functional.normalize(randn(1, 4, 4, 4), dim: 1))[0];  // (N, N), N = 8·8
        Assert.Equal(new long[] { 64, 64 }, kernel.shape);
        Assert.True(kernel.allclose(kernel.t(), atol: 1e-6));
        Assert.True(kernel.diagonal().allclose(ones(64), atol: 1e-5));
        Assert.True(kernel.le(1 + 1e-6).all().item<bool>());
        var uniform = Criterion().Kernel(zeros(1, 3, 16, 16), null)[0];
        Assert.True(uniform.min().item<float>() > kernel.min().item<float>());  // colour differences lower W
    }

    [Fact]
    public void PartialCrossEntropyIgnoresUnscribbledPixels()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var logits = randn(1, 3, 16, 16, requires_grad: true);
        var labels = full(new long[] { 1, 16, 16 }, 255L, dtype: ScalarType.Int64);
        labels[0, 5, TensorIndex.Slice(2, 12)] = tensor(1L);  // a 10-pixel scribble of class 1
        var terms = Criterion().Terms(new SegmentationOutput(logits, []), labels, zeros(1, 3, 16, 16));
        Assert.Equal(10, terms.ValidCounts[0]);
        terms.Sums[0].backward();
        var scribbled = labels.ne(255).unsqueeze(1).expand(1, 3, 16, 16);
        Assert.Equal(0f, logits.grad!.masked_select(scribbled.logical_not()).abs().sum().item<float>());
        var expected = nn.functional.cross_entropy(logits, labels, ignore_index: 255);
        Assert.Equal(expected.item<float>(), Criterion(weight: 0, consistency: 0).Forward(new SegmentationOutput(logits, []), labels, zeros(1, 3, 16, 16)).item<float>(), 5);
    }

    [Fact]
    public void GradientReachesUnscribbledPixelsAndTheConsistencyHead()
    {
        using var scope = NewDisposeScope();
        using var model = new FeatureConsistencyNet(TestData.Model("encoder-decoder", 3, 8, NormKind.GroupNorm), embeddingChannels: 8);
        var images = randn(2, 3, 32, 32);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 8, 16, 16 }, output.Embedding!.shape);
        var labels = full(new long[] { 2, 32, 32 }, 255L, dtype: ScalarType.Int64);
        labels[.., 4, TensorIndex.Slice(4, 20)] = tensor(2L);
        var logits = output.Logits;
        logits.retain_grad();
        var terms = Criterion().Terms(output, labels, images);
        Assert.Equal(new long[] { 32, 2, 2 }, terms.ValidCounts.ToArray());
        Assert.True(terms.Sums[1].item<float>() > 0 && terms.Sums[2].item<float>() > 0);
        SegmentationCriterion.Combine(terms, terms.ValidCounts.Select(c => (double)c).ToArray()).backward();
        Assert.True(logits.grad![0, .., 20, 20].abs().sum().item<float>() > 0);  // an unscribbled pixel learns from R
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "a parameter got no gradient"));
    }
}

/// <summary>The §5 schedule and label source: warm-up with partial CE, scribbles drawn from full masks.</summary>
public class ScribbleScheduleTests
{
    [Fact]
    public void RegulariserWeightIsZeroDuringTheWarmUpThenLambda()
    {
        using var scope = NewDisposeScope();
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(Weight: 3, RgbPerUnit: 59, WarmupSteps: 5));
        var output = new SegmentationOutput(randn(1, 3, 16, 16), []);
        var labels = zeros(1, 16, 16, dtype: ScalarType.Int64);
        criterion.Step = 4;
        Assert.Equal(0, criterion.Terms(output, labels, randn(1, 3, 16, 16)).Weights[1]);
        criterion.Step = 5;
        Assert.Equal(3, criterion.Terms(output, labels, randn(1, 3, 16, 16)).Weights[1]);
    }

    [Fact]
    public void SynthesisedScribblesReplaceTheFullMaskInThePartialCrossEntropy()
    {
        using var scope = NewDisposeScope();
        var labels = zeros(1, 32, 32, dtype: ScalarType.Int64);
        labels[.., TensorIndex.Slice(0, 16)] = tensor(1L);
        var output = new SegmentationOutput(randn(1, 2, 32, 32), []);
        var full = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(RgbPerUnit: 59));
        var drawn = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(RgbPerUnit: 59), new SegCluster.Vision.Labels.ScribbleSynthesizer(2, seed: 3));
        Assert.Equal(32 * 32, full.Terms(output, labels, zeros(1, 3, 32, 32)).ValidCounts[0]);
        long scribbled = drawn.Terms(output, labels, zeros(1, 3, 32, 32)).ValidCounts[0];
        Assert.InRange(scribbled, 2, 32 * 32 / 4);  // two strokes per class, a few percent of the pixels
        Assert.Equal(1, labels[0, 0, 0].item<long>());  // the criterion did not write into the caller's labels
    }

    /// <summary>
    /// Image A's partial CE over its synthesised strokes, alone and behind a neighbour: the neighbour (all class 0, its
    /// logits certain of class 0, so its CE is exactly 0) draws strokes too, which with one random stream across the
    /// batch moved A's strokes; per image they stay where a fixed annotation would keep them.
    /// </summary>
    [Fact]
    public void An_images_synthesised_scribbles_do_not_depend_on_its_batch_neighbours()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var a = zeros(1, 32, 32, dtype: ScalarType.Int64);
        a[.., TensorIndex.Slice(4, 20), TensorIndex.Slice(6, 28)] = tensor(1L);  // (1, H, W) a box of class 1
        var aLogits = randn(1, 2, 32, 32);
        var neighbour = zeros(1, 32, 32, dtype: ScalarType.Int64);
        var neighbourLogits = zeros(1, 2, 32, 32);
        neighbourLogits[.., 0] = tensor(1000f);
        var criterion = new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(RgbPerUnit: 59), new SegCluster.Vision.Labels.ScribbleSynthesizer(2, seed: 3));

        double PartialCe(Tensor logits, Tensor labels) =>
            criterion.Terms(new SegmentationOutput(logits, []), labels, zeros(labels.shape[0], 3, 32, 32)).Sums[0].item<float>();

        double alone = PartialCe(aLogits, a);
        Assert.Equal(alone, PartialCe(cat([neighbourLogits, aLogits]), cat([neighbour, a])), 3);
        Assert.Equal(alone, PartialCe(cat([aLogits, neighbourLogits]), cat([a, neighbour])), 3);
    }
}
