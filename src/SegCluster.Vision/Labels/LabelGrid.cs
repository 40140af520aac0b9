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
    /// labels' device. Ignore pixels (and padding) are all-zero one-hot rows, so Σ_k is the valid fraction.
    /// </summary>
    /// <param name="labels">(B, H, W) integer class ids in [0, K) or <paramref name="ignoreIndex"/>.</param>
    public static Tensor ClassFractions(Tensor labels, int numClasses, int factor, int ignoreIndex)
    {
        Check(labels, factor);
        using var scope = NewDisposeScope();
        var l = labels.to(ScalarType.Int64);
        using var ignore = ignoreIndex.ToScalar();  // held for the native call (see KeptScalars)
        var valid = l.ne(ignore);                                                                 // (B, H, W)
        var safe = l.masked_fill(valid.logical_not(), KeptScalars.Zero);
        var oneHot = nn.functional.one_hot(safe, numClasses).permute(0, 3, 1, 2).to(ScalarType.Float32); // (B, K, H, W)
        oneHot = oneHot * valid.unsqueeze(1).to(ScalarType.Float32);
        if (factor == 1)
            return oneHot.MoveToOuterDisposeScope();
        long h = labels.shape[1], w = labels.shape[2];
        long padH = CoarseSize(h, factor) * factor - h, padW = CoarseSize(w, factor) * factor - w;
        if (padH > 0 || padW > 0)
            oneHot = nn.functional.pad(oneHot, [0, padW, 0, padH]);                               // zero mass = ignore
        // Area (box) filter: the same structure as area-down-sampling the image (PAPERS.md §3).
        return nn.functional.avg_pool2d(oneHot, factor, factor).MoveToOuterDisposeScope();       // (B, K, h, w)
    }
}
