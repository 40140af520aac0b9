using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Shared label-grid arithmetic for the down-samplers (PAPERS.md §2 "Efficient grid", §3 "Soft label").
/// A factor f maps an (H, W) label map to a (⌈H/f⌉, ⌈W/f⌉) grid; when f does not divide a side the
/// last cells are padded with ignore pixels, which carry no mass, so every real pixel is counted once.
/// </summary>
public static class LabelGrid
{
    /// <summary>⌈size / factor⌉.</summary>
    public static long CoarseSize(long size, int factor) => (size + factor - 1) / factor;

    /// <summary>Throws naming the parameter when the factor or the labels' shape is unusable.</summary>
    public static void Check(Tensor labels, int factor)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (factor < 1)
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "the down-sampling factor must be >= 1");
        if (labels.dim() != 3)
            throw new ArgumentException($"labels must be (B, H, W), got ({string.Join(", ", labels.shape)})", nameof(labels));
    }

    /// <summary>
    /// Per-class valid mass of each f×f cell as a fraction of the cell area: (B, K, h, w) float32 on the
    /// labels' device. Ignore pixels (and padding) count for no class, so Σ_k is the valid fraction.
    /// </summary>
    /// <remarks>
    /// Counted by one scatter-add of each valid pixel into its (class, cell) bin: memory of order B·H·W plus the result,
    /// where a full-resolution one-hot (B, K, H, W) and its copies cost K times that every step (hundreds of MB at
    /// Cityscapes crops with 19 classes). Counts are exact integers in float32, so the fractions are those of an area
    /// (box) filter of the one-hot map, the same structure as area-down-sampling the image (PAPERS.md §3).
    /// </remarks>
    /// <param name="labels">(B, H, W) integer class ids in [0, K) or <paramref name="ignoreIndex"/>.</param>
    /// <exception cref="ArgumentException">A label other than <paramref name="ignoreIndex"/> is outside [0, K).</exception>
    public static Tensor ClassFractions(Tensor labels, int numClasses, int factor, int ignoreIndex)
    {
        Check(labels, factor);
        using var scope = NewDisposeScope();
        long b = labels.shape[0], h = labels.shape[1], w = labels.shape[2];
        long hc = CoarseSize(h, factor), wc = CoarseSize(w, factor), cells = hc * wc, bins = numClasses * cells;
        var device = labels.device;
        var l = labels.to(ScalarType.Int64);
        using var ignore = ignoreIndex.ToScalar();  // every number held for the native call (see KeptScalars)
        var invalid = l.eq(ignore);
        using var classes = ((long)numClasses).ToScalar();
        var known = l.masked_fill(invalid, KeptScalars.Zero);
        if (known.lt(KeptScalars.Zero).logical_or(known.ge(classes)).any().item<bool>())
            throw new ArgumentException($"labels hold values outside [0, {numClasses}) other than the ignore index {ignoreIndex}.", nameof(labels));

        // The cell of every pixel, (H, W): ⌊y / f⌋ · w_c + ⌊x / f⌋.
        using var f = ((long)factor).ToScalar();
        using var width = wc.ToScalar();
        var rows = Positions(h, device).div(f, RoundingMode.floor).mul(width);
        var columns = Positions(w, device).div(f, RoundingMode.floor);
        var cell = rows.unsqueeze(1).add(columns.unsqueeze(0), KeptScalars.One);
        // Bin label · cells + cell; ignore pixels go to one extra bin past the counted ones.
        using var perClass = cells.ToScalar();
        using var dump = bins.ToScalar();
        var index = l.mul(perClass).add(cell, KeptScalars.One).masked_fill(invalid, dump).flatten(1);             // (B, H·W)
        var pixel = ones(1, 1, ScalarType.Float32, device).expand(b, h * w);
        var counts = zeros(b, bins + 1, ScalarType.Float32, device).scatter_add_(1, index, pixel);
        using var area = ((double)factor * factor).ToScalar();
        return counts.narrow(1, 0, bins).view(b, numClasses, hc, wc).div(area).MoveToOuterDisposeScope();     // (B, K, h, w)
    }

    /// <summary>0, 1, …, n − 1 as int64.</summary>
    private static Tensor Positions(long n, Device device)
    {
        using var count = n.ToScalar();
        return arange(KeptScalars.Zero, count, KeptScalars.One, ScalarType.Int64, device);
    }
}
