using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Spectral;

/// <summary>
/// Spectral feature truncation (PAPERS.md §2 "Feature truncation"): rfft2 of a (B, C, H, W) feature
/// map, keep the frequencies below a cut-off (|u| &lt; h/2, |v| ≤ w/2 with h = round(r·H), w = round(r·W)),
/// irfft2 onto the smaller (h, w) grid. Normalised "forward" both ways, so a constant map keeps its
/// value and a band-limited map is resampled exactly. Later layers then run on h·w instead of H·W pixels.
/// No parameters; differentiable.
/// </summary>
public sealed class SpectralFeatureTruncation : nn.Module<Tensor, Tensor>
{
    /// <param name="ratio">Cut-off ratio r ∈ (0, 1]: the output grid is r times the input grid per side.</param>
    public SpectralFeatureTruncation(double ratio) : base(nameof(SpectralFeatureTruncation))
    {
        if (!(ratio is > 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "the cut-off ratio must be in (0, 1]");
        Ratio = ratio;
    }

    public double Ratio { get; }

    /// <summary>The output grid for an (H, W) input.</summary>
    public (long Height, long Width) OutputSize(long height, long width) =>
        (Math.Max(1, (long)Math.Round(height * Ratio)), Math.Max(1, (long)Math.Round(width * Ratio)));

    /// <summary>Share of the following layers' FLOPs saved: 1 − h·w / (H·W) (their cost is linear in pixels).</summary>
    public double FlopsSavedFraction(long height, long width)
    {
        var (h, w) = OutputSize(height, width);
        return 1.0 - (double)(h * w) / (height * width);
    }

    /// <summary>FLOPs saved in following layers costing <paramref name="flopsPerPixel"/> per output pixel.</summary>
    public double FlopsSaved(long height, long width, double flopsPerPixel) =>
        FlopsSavedFraction(height, width) * height * width * flopsPerPixel;

    /// <param name="input">(B, C, H, W) real features.</param>
    /// <returns>(B, C, h, w).</returns>
    public override Tensor forward(Tensor input)
    {
        long height = input.shape[2], width = input.shape[3];
        var (h, w) = OutputSize(height, width);
        if (h == height && w == width)
            return input.alias();
        using var scope = NewDisposeScope();
        var spectrum = fft.rfft2(input, norm: FFTNormType.Forward);                     // (B, C, H, W/2+1)
        long positive = (h + 1) / 2, negative = h / 2;                                   // rows 0..⌈h/2⌉−1 and the last ⌊h/2⌋
        var rows = negative == 0
            ? spectrum[.., .., TensorIndex.Slice(0, positive)]
            : cat([spectrum[.., .., TensorIndex.Slice(0, positive)], spectrum[.., .., TensorIndex.Slice(height - negative, height)]], 2); // (B, C, h, W/2+1)
        var kept = rows[.., .., .., TensorIndex.Slice(0, w / 2 + 1)];                    // (B, C, h, w/2+1)
        return fft.irfft2(kept, s: [h, w], norm: FFTNormType.Forward).MoveToOuterDisposeScope(); // (B, C, h, w)
    }
}
