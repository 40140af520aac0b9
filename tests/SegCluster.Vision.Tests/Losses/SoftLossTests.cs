using SegCluster.Vision.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Losses;

public class SoftLossTests
{
    [Fact]
    public void KlIsZeroWhenThePredictionEqualsTheSoftLabel()
    {
        using var scope = NewDisposeScope();
        var target = tensor(new float[] { 0.25f, 1f, 0.75f, 0f }, [1, 2, 1, 2]);  // two pixels, K = 2
        var logits = target.clamp_min(1e-8f).log();
        Assert.Equal(0f, SoftKlLoss.Forward(logits, target).item<float>(), 4);
    }

    /// <summary>KL(Ỹ ‖ S) with rows below 1: each cell adds its valid share times KL of its class distribution, so a
    /// prediction equal to every cell's distribution scores 0 (Σ Ỹ log Ỹ would add 0.75·log 0.75 for the second pixel).</summary>
    [Fact]
    public void SoftKlIsZeroWhenThePredictionEqualsEachCellsDistributionWithRowsBelowOne()
    {
        using var scope = NewDisposeScope();
        var target = tensor(new float[] { 0.75f, 0f, 0.25f, 0.5f, 0f, 0.25f }, [1, 3, 1, 2]);  // rows (0.75, 0.25, 0), (0, 0.5, 0.25)
        var distribution = target / target.sum(1, keepdim: true);
        var logits = distribution.clamp_min(1e-9f).log();
        Assert.Equal(0f, SoftKlLoss.Forward(logits, target).item<float>(), 5);
        Assert.True(SoftKlLoss.Forward(zeros_like(logits), target).item<float>() > 0.1f);  // and positive elsewhere
    }

    [Fact]
    public void SoftCrossEntropyMatchesAHandComputedValueAndIgnoresZeroRows()
    {
        using var scope = NewDisposeScope();
        // Pixel 0: target (0.5, 0.5), logits (0, 0) → log 2. Pixel 1: ignored (zero row), arbitrary logits.
        var target = tensor(new float[] { 0.5f, 0f, 0.5f, 0f }, [1, 2, 1, 2]);
        var logits = tensor(new float[] { 0f, 9f, 0f, -9f }, [1, 2, 1, 2]);
        Assert.Equal(MathF.Log(2), SoftCrossEntropyLoss.Forward(logits, target).item<float>(), 5);
        Assert.Equal(0f, SoftKlLoss.Forward(logits, target).item<float>(), 5);
    }

    [Fact]
    public void OneHotSoftCrossEntropyEqualsHardCrossEntropy()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var logits = randn(2, 4, 3, 3);
        var labels = randint(0, 4, [2, 3, 3], dtype: ScalarType.Int64);
        var target = nn.functional.one_hot(labels, 4).permute(0, 3, 1, 2).to(ScalarType.Float32);
        var expected = nn.functional.cross_entropy(logits, labels).item<float>();
        Assert.Equal(expected, SoftCrossEntropyLoss.Forward(logits, target).item<float>(), 5);
    }

    [Fact]
    public void SoftCrossEntropyAndKlHaveTheSameGradients()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var target = softmax(randn(1, 3, 4, 4), 1);
        var a = randn(1, 3, 4, 4).requires_grad_();
        var b = a.detach().clone().requires_grad_();
        SoftCrossEntropyLoss.Forward(a, target).backward();
        SoftKlLoss.Forward(b, target).backward();
        Assert.True(a.grad!.sub(b.grad!).abs().max().item<float>() < 1e-6f);
    }
}
