using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>Spectral truncation of the finest decoder level (PAPERS.md §2): full-size logits, fewer FLOPs, training runs.</summary>
public class DecoderTruncationTests
{
    [Theory]
    [InlineData("spgnet")]
    [InlineData("encoder-decoder")]
    [InlineData("deeplabv3plus")]
    [InlineData("unet")]
    [InlineData("dan")]
    public void TruncationKeepsTheOutputSizeAndCutsTheDecoderFlops(string name)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        using var plain = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4));
        using var half = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4, DecoderTruncation: 0.5));
        Assert.Equal(plain.ParameterCount, half.ParameterCount);  // truncation has no parameters

        var output = half.forward(randn(2, 3, 32, 48));
        Assert.Equal(new long[] { 2, 3, 32, 48 }, output.Logits.shape);
        output.Logits.square().mean().backward();
        Assert.All(half.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));

        var plainMacs = ModelProfiler.Profile(plain, 64, 64, plain.OutputStride, maxProbeDivisor: 1).Macs;
        var halfMacs = ModelProfiler.Profile(half, 64, 64, half.OutputStride, maxProbeDivisor: 1).Macs;
        Assert.True(halfMacs < plainMacs, $"r = 0.5 costs {halfMacs} MACs, r = 1 {plainMacs}");
    }

    [Fact]
    public void EveryModelWithAMultiScaleDecoderTruncatesAndVitIsRefused()
    {
        Assert.Equal(ModelRegistry.Names.Where(n => n != "vit"), ModelRegistry.TruncatingModels);
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions("vit", Backbone: "tiny", DecoderTruncation: 0.5).Validate());
        Assert.Contains("ModelOptions.DecoderTruncation = 0.5: model \"vit\" has no fine decoder level", error.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AnOutOfRangeRatioIsRejectedNamingTheField(double ratio)
    {
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions(DecoderTruncation: ratio).Validate());
        Assert.Contains("ModelOptions.DecoderTruncation", error.Message);
        Assert.Contains("(0, 1]", error.Message);
    }

    [Fact]
    public void AnUnsupportedLogitFactorListsTheValidOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions(LogitFactor: 3).Validate());
        Assert.Contains("ModelOptions.LogitFactor = 3", error.Message);
        Assert.Contains("1, 2, 4, 8, 16, 32", error.Message);
    }
}
