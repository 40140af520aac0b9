using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Spectral;

public class SpectralFeatureTruncationTests
{
    [Fact]
    public void KeepsALowFrequencyMapExactlyOnTheSmallerGrid()
    {
        using var scope = NewDisposeScope();
        // cos(2π·2y/16) + 3: band-limited well below the 8×8 grid's Nyquist.
        var y = arange(16, dtype: ScalarType.Float32).unsqueeze(1).expand(16, 16);
        var input = (cos(y * (2 * Math.PI * 2 / 16)) + 3).unsqueeze(0).unsqueeze(0);   // (1, 1, 16, 16)
        using var truncation = new SpectralFeatureTruncation(0.5);
        var output = truncation.forward(input);                                         // (1, 1, 8, 8)
        Assert.Equal([1L, 1, 8, 8], output.shape);
        var y8 = arange(8, dtype: ScalarType.Float32).unsqueeze(1).expand(8, 8);
        var expected = (cos(y8 * (2 * Math.PI * 2 / 8)) + 3).unsqueeze(0).unsqueeze(0);
        Assert.True(output.sub(expected).abs().max().item<float>() < 1e-4f);
        Assert.Equal(0.75, truncation.FlopsSavedFraction(16, 16), 9);
        Assert.Equal(0.75 * 256 * 10, truncation.FlopsSaved(16, 16, 10), 6);
    }

    [Fact]
    public void RatioOneIsTheIdentityAndGradientsFlow()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var input = randn(2, 3, 12, 10).requires_grad_();
        using var identity = new SpectralFeatureTruncation(1.0);
        Assert.True(identity.forward(input).sub(input).abs().max().item<float>() < 1e-6f);
        using var truncation = new SpectralFeatureTruncation(0.5);
        truncation.forward(input).sum().backward();
        Assert.NotNull(input.grad);
    }
}
