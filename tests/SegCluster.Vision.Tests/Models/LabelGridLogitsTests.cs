using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>
/// Training at label grid factor f (PAPERS.md §2): the decoder stops at the grid, so training logits are
/// (H/f, W/f) and nothing finer is built; evaluation of the same network still predicts (H, W).
/// </summary>
public class LabelGridLogitsTests
{
    [Theory]
    [InlineData("spgnet", 2)]
    [InlineData("spgnet", 4)]
    [InlineData("spgnet", 8)]
    [InlineData("encoder-decoder", 4)]
    [InlineData("encoder-decoder", 16)]
    [InlineData("deeplabv3plus", 4)]
    [InlineData("deeplabv3plus", 8)]
    [InlineData("unet", 4)]
    public void TrainingLogitsAreOnTheLabelGridAndEvaluationIsFullResolution(string name, int factor)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4, LogitFactor: factor));
        var images = randn(2, 3, 32, 64);
        model.train();
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 3, 32 / factor, 64 / factor }, output.Logits.shape);
        var labels = randint(0, 3, [2, 32, 64], dtype: ScalarType.Int64);
        var criterion = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, factor)));
        criterion.Forward(output, labels).backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));

        model.eval();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 2, 3, 32, 64 }, model.forward(images).Logits.shape);
    }

    [Theory]
    [InlineData("spgnet")]
    [InlineData("encoder-decoder")]
    public void DecoderStagesFinerThanTheGridAreNotBuilt(string name)
    {
        using var full = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4));
        using var coarse = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4, LogitFactor: 8));
        Assert.True(coarse.ParameterCount < full.ParameterCount,
            $"f = 8 has {coarse.ParameterCount} parameters, f = 1 {full.ParameterCount}: the stride-2 and stride-4 decoder stages should be gone");
        var fullMacs = ModelProfiler.Profile(full, 64, 64, full.OutputStride, maxProbeDivisor: 1).Macs;
        var coarseMacs = ModelProfiler.Profile(coarse, 64, 64, coarse.OutputStride, maxProbeDivisor: 1).Macs;
        Assert.True(coarseMacs < fullMacs, $"f = 8 costs {coarseMacs} MACs, f = 1 {fullMacs}");
    }

    [Fact]
    public void TheCriterionRejectsLogitsOnAnotherGridNamingTheModelOption()
    {
        using var scope = NewDisposeScope();
        var labels = zeros([1, 16, 16], dtype: ScalarType.Int64);
        var criterion = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.Nearest, 4)));
        var error = Assert.Throws<ArgumentException>(() => criterion.Forward(new SegmentationOutput(zeros(1, 3, 8, 8), []), labels));
        Assert.Contains("LogitFactor", error.Message);
    }

    [Fact]
    public void GridLogitsGiveTheSameLossAsPooledFullLogits()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var logits = randn(2, 3, 16, 16);
        var labels = randint(0, 3, [2, 16, 16], dtype: ScalarType.Int64);
        var criterion = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.Nearest, 4)));
        var pooled = nn.functional.avg_pool2d(logits, 4, 4);
        Assert.Equal(criterion.Forward(new SegmentationOutput(logits, []), labels).item<float>(),
            criterion.Forward(new SegmentationOutput(pooled, []), labels).item<float>(), 5);
    }
}
