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

    /// <summary>A cosine or sine at the smaller grid's Nyquist (fine frequency 4 of 16, coarse 4 of 8) is beyond the
    /// cut-off and removed, in rows and columns alike; a frequency just below it (3) is resampled exactly. Keeping one of
    /// the ±Nyquist bins gave 0.5·(−1)^m for the cosine.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void The_smaller_grids_Nyquist_frequency_is_cut_and_the_one_below_kept(int dim)
    {
        using var scope = NewDisposeScope();
        Tensor Wave(int size, double frequency, bool sine)
        {
            var t = arange(size, dtype: ScalarType.Float64) * (2 * Math.PI * frequency / size);
            var line = sine ? sin(t) : cos(t);
            return (dim == 0 ? line.unsqueeze(1).expand(size, size) : line.unsqueeze(0).expand(size, size)).unsqueeze(0).unsqueeze(0);
        }
        using var truncation = new SpectralFeatureTruncation(0.5);
        foreach (var sine in new[] { false, true })
        {
            Assert.True(truncation.forward(Wave(16, 4, sine)).abs().max().item<double>() < 1e-9, $"Nyquist {(sine ? "sine" : "cosine")} kept");
            Assert.True(truncation.forward(Wave(16, 3, sine)).sub(Wave(8, 3, sine)).abs().max().item<double>() < 1e-9);
        }
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
