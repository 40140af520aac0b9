using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Mode pooling (PAPERS.md §3 "Baselines"): each f×f cell takes the most frequent class among its
/// valid pixels (ties → the lowest class id); a cell without valid pixels is ignore.
/// </summary>
public static class MajorityLabelDownsampler
{
    /// <summary>(B, H, W) labels → (B, ⌈H/f⌉, ⌈W/f⌉) int64 on the same device.</summary>
    public static Tensor Downsample(Tensor labels, int numClasses, int factor, int ignoreIndex = 255)
    {
        using var scope = NewDisposeScope();
        var fractions = LabelGrid.ClassFractions(labels, numClasses, factor, ignoreIndex);  // (B, K, h, w)
        return FromFractions(fractions, ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>Majority label of per-class cell fractions (B, K, h, w); all-zero cells → ignore.</summary>
    public static Tensor FromFractions(Tensor fractions, int ignoreIndex, double minPurity = 0)
    {
        ArgumentNullException.ThrowIfNull(fractions);
        using var scope = NewDisposeScope();
        var (top, arg) = fractions.max(1);                          // (B, h, w) each
        var mass = fractions.sum(1);                                // (B, h, w) valid fraction of the cell
        // Purity is the majority's share of the cell's VALID pixels.
        using var least = minPurity.ToScalar();           // held for the native calls (see KeptScalars)
        using var ignoreLabel = ignoreIndex.ToScalar();
        var purity = top / mass.clamp_min(KeptScalars.MassFloor);
        var ignore = mass.le(KeptScalars.Zero).logical_or(purity.lt(least));
        return arg.masked_fill(ignore, ignoreLabel).MoveToOuterDisposeScope();
    }
}
