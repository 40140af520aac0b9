using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Spectral;

/// <summary>
/// Spectral feature truncation (PAPERS.md §2 "Feature truncation"): rfft2 of a (B, C, H, W) feature
/// map, keep the frequencies below a cut-off (|u| &lt; h/2, |v| &lt; w/2 with h = round(r·H), w = round(r·W)),
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
        var rows = KeepRows(spectrum, height, h);                                        // (B, C, h, W/2+1)
        var kept = KeepColumns(rows, width, w);                                          // (B, C, h, w/2+1)
        return fft.irfft2(kept, s: [h, w], norm: FFTNormType.Forward).MoveToOuterDisposeScope(); // (B, C, h, w)
    }

    /// <summary>
    /// Rows u with |u| &lt; h/2 in the (h)-row FFT order 0, 1, …, −1. On an even smaller grid the row ±h/2 (its
    /// Nyquist) is zero: there the fine grid's +h/2 and −h/2 would fold into one bin, and keeping only −h/2 returned a
    /// cosine at that frequency at half amplitude and its sine not at all (the cut-off of <see cref="LabelSpectrum"/>).
    /// </summary>
    private static Tensor KeepRows(Tensor spectrum, long height, long h)
    {
        if (h == height) return spectrum;
        long positive = (h + 1) / 2, negative = (h - 1) / 2;                            // u = 0..⌈h/2⌉−1 and −⌊(h−1)/2⌋..−1
        var parts = new List<Tensor> { spectrum[.., .., TensorIndex.Slice(0, positive)] };
        if (h % 2 == 0) parts.Add(zeros_like(spectrum[.., .., TensorIndex.Slice(0, 1)])); // u = ±h/2
        if (negative > 0) parts.Add(spectrum[.., .., TensorIndex.Slice(height - negative, height)]);
        return parts.Count == 1 ? parts[0] : cat(parts, 2);
    }

    /// <summary>Columns v &lt; w/2 of the half spectrum (0..w/2); on an even smaller grid its last column, v = w/2 (the
    /// Nyquist, which irfft2 counts once), is zero, as for rows.</summary>
    private static Tensor KeepColumns(Tensor rows, long width, long w)
    {
        if (w == width) return rows;
        var below = rows[.., .., .., TensorIndex.Slice(0, (w + 1) / 2)];               // v = 0..⌈w/2⌉−1
        return w % 2 == 0 ? cat([below, zeros_like(rows[.., .., .., TensorIndex.Slice(0, 1)])], 3) : below;
    }
}
