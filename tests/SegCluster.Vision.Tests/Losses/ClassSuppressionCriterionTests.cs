using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class ClassSuppressionCriterionTests
{
    private static readonly LossOptions Loss = new();

    /// <summary>The §4 and §5 criteria compute their further terms at full resolution: a coarse label grid is refused by
    /// name (it failed deep in libtorch on shapes, or mixed grids silently).</summary>
    [Theory]
    [InlineData(LabelMode.SoftCrossEntropy, 4)]
    [InlineData(LabelMode.Nearest, 2)]
    public void CriteriaWithFullResolutionTermsRefuseACoarseLabelGrid(LabelMode mode, int factor)
    {
        var loss = new LossOptions(Labels: new LabelOptions(mode, factor));
        var suppression = Assert.Throws<ArgumentException>(() => new ClassSuppressionCriterion(loss, new ClassSuppressionOptions()));
        var scribble = Assert.Throws<ArgumentException>(() => new ScribbleRegularizedCriterion(loss, new ScribbleLossOptions()));
        Assert.All(new[] { suppression, scribble }, e => Assert.Contains($"LossOptions.Labels = {mode} at factor {factor}", e.Message));
        _ = new ClassSuppressionCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.Scribble)), new ClassSuppressionOptions());
    }

    [Fact]
    public void AtEpochZeroTheLossIsPlainCrossEntropyOnThePlainLogits()
    {
        using var scope = NewDisposeScope();
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm), new ClassSuppressionOptions(EndEpoch: 10, TotalEpochs: 10));
        model.Epoch = 0;  // p = 0, λ = 1
        model.train();
        var images = randn(2, 3, 16, 16);
        var labels = randint(0, 4, [2, 16, 16], dtype: ScalarType.Int64);
        var output = model.forward(images);
        var branch = Assert.IsType<ClassSuppressionBranch>(output.Suppression);
        Assert.Equal(-1, branch.DroppedClass);
        var loss = new ClassSuppressionCriterion(Loss, model.Suppression).Forward(output, labels, images);
        var plain = nn.functional.cross_entropy(branch.PlainLogits, labels, ignore_index: 255);
        Assert.Equal(plain.item<float>(), loss.item<float>(), 5);
    }

    [Fact]
    public void DroppedClassPixelsContributeNothingToTheDropTermAndSuppressionIsTheMeanProbability()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var plainLogits = randn(1, 3, 4, 4);
        var dropLogits = randn(1, 3, 4, 4, requires_grad: true);
        var labels = randint(0, 3, [1, 4, 4], dtype: ScalarType.Int64);
        labels[0, 0] = tensor(2L);  // class 2 present
        var output = new SegmentationOutput(dropLogits, []) { Suppression = new ClassSuppressionBranch(plainLogits, DroppedClass: 2, PlainWeight: 0.25) };
        var criterion = new ClassSuppressionCriterion(Loss, new ClassSuppressionOptions(SuppressionWeight: 10));
        var terms = criterion.Terms(output, labels, zeros(1, 3, 4, 4));
        Assert.Equal([0.25, 0.75, 10.0], terms.Weights);

        // Drop CE: the dropped class's pixels neither count nor add loss, whatever their logits.
        long notTwo = labels.ne(2).sum().item<long>();
        Assert.Equal(notTwo, terms.ReadCounts()[1]);
        var expectedDrop = nn.functional.cross_entropy(dropLogits, labels.masked_fill(labels.eq(2), 255), ignore_index: 255, reduction: nn.Reduction.Sum);
        Assert.Equal(expectedDrop.item<float>(), terms.Sums[1].item<float>(), 4);
        terms.Sums[1].backward();
        var isTwo = labels.eq(2).unsqueeze(1).expand(1, 3, 4, 4);
        Assert.Equal(0f, dropLogits.grad!.masked_select(isTwo).abs().sum().item<float>());

        // Suppression: sum of softmax prob of d over 16 pixels, normalised by 16 → the mean probability.
        Assert.Equal(16, terms.ReadCounts()[2]);
        var meanProbability = nn.functional.softmax(dropLogits, 1)[0, 2].mean().item<float>();
        Assert.Equal(meanProbability, terms.Sums[2].item<float>() / 16, 5);

        var loss = criterion.Forward(output, labels, zeros(1, 3, 4, 4));
        var expected = 0.25 * nn.functional.cross_entropy(plainLogits, labels, ignore_index: 255).item<float>()
                       + 0.75 * expectedDrop.item<float>() / notTwo + 10 * meanProbability;
        Assert.Equal(expected, loss.item<float>(), 4);
    }

    /// <summary>The drop branch's terms come from one log_softmax (nll_loss, exp of class d): the loss and its gradient are
    /// those of the paper's formulation, cross_entropy plus a separate softmax, on a hand-made case with ignore pixels.</summary>
    [Fact]
    public void DropBranchTermsMatchCrossEntropyPlusSoftmax()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        var plainLogits = randn(2, 4, 3, 5);
        var labels = randint(0, 4, [2, 3, 5], dtype: ScalarType.Int64);
        labels[0, 1] = tensor(255L);  // an ignored row
        labels[1, 0, 0] = tensor(1L);  // the dropped class is present
        var dropLogits = (randn(2, 4, 3, 5) * 4).requires_grad_();
        var output = new SegmentationOutput(dropLogits, []) { Suppression = new ClassSuppressionBranch(plainLogits, DroppedClass: 1, PlainWeight: 0.4) };
        var criterion = new ClassSuppressionCriterion(Loss, new ClassSuppressionOptions(SuppressionWeight: 10));
        var loss = criterion.Forward(output, labels, zeros(2, 3, 3, 5));
        var gradient = autograd.grad([loss], [dropLogits])[0];

        var reference = dropLogits.detach().clone().requires_grad_();
        var dropLabels = labels.masked_fill(labels.eq(1).logical_or(labels.eq(255)), 255);
        var expected = 0.4 * nn.functional.cross_entropy(plainLogits, labels, ignore_index: 255)
                       + 0.6 * nn.functional.cross_entropy(reference, dropLabels, ignore_index: 255)
                       + 10 * nn.functional.softmax(reference, 1).select(1, 1).mean();
        var expectedGradient = autograd.grad([expected], [reference])[0];
        Assert.Equal(expected.item<float>(), loss.item<float>(), 5);
        Assert.True(gradient.allclose(expectedGradient, rtol: 1e-5, atol: 1e-7), "the drop branch's gradient differs from cross_entropy + softmax");
    }

    [Fact]
    public void WithoutASuppressionBranchItIsTheBaseCriterion()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var logits = randn(1, 3, 4, 4);
        var labels = randint(0, 3, [1, 4, 4], dtype: ScalarType.Int64);
        var loss = new ClassSuppressionCriterion(Loss, new ClassSuppressionOptions()).Forward(new SegmentationOutput(logits, []), labels, zeros(1, 3, 4, 4));
        Assert.Equal(new SegmentationCriterion(Loss).Forward(new SegmentationOutput(logits, []), labels).item<float>(), loss.item<float>(), 6);
    }
}
