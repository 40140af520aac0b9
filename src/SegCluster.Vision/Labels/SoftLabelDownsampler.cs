using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Soft label down-sampling as the authors' code does it (PAPERS.md §3; vpulab/soft-labels-SS <c>resize_oh</c>): one-hot
/// with ignore as an extra class that is then dropped, area average-pool by f, keep each class's area fraction of the
/// cell. A low-res pixel's row sums to its valid share (1 for a cell without ignore pixels, 0.5 for one half covered by
/// them), so a loss normalised by the total soft mass Σ Ỹ weighs each cell by its valid area, as the authors' does.
/// <see cref="SoftLabelOptions.Renormalize"/> divides each valid row by its mass instead (rows sum to 1). An ignored
/// pixel (no valid mass, or below <see cref="SoftLabelOptions.MinValidFraction"/>) is all zeros, so losses skip it.
/// </summary>
public sealed class SoftLabelDownsampler
{
    public SoftLabelDownsampler(int numClasses, SoftLabelOptions? options = null)
    {
        if (numClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be >= 1");
        Options = options ?? new SoftLabelOptions();
        Options.Validate();
        NumClasses = numClasses;
    }

    public int NumClasses { get; }

    public SoftLabelOptions Options { get; }

    /// <summary>(B, H, W) labels → (B, K, ⌈H/f⌉, ⌈W/f⌉) float32 area fractions (or, renormalised, proportions of the
    /// valid mass) on the labels' device.</summary>
    public Tensor Downsample(Tensor labels, int factor)
    {
        using var scope = NewDisposeScope();
        var fractions = LabelGrid.ClassFractions(labels, NumClasses, factor, Options.IgnoreIndex);  // (B, K, h, w)
        var mass = fractions.sum(1, keepdim: true);                                                 // (B, 1, h, w)
        using var least = Options.MinValidFraction.ToScalar();  // held for the native call (see KeptScalars)
        var keep = mass.gt(KeptScalars.Zero).logical_and(mass.ge(least)).to(ScalarType.Float32);
        var kept = Options.Renormalize ? fractions / mass.clamp_min(KeptScalars.MassFloor) : fractions;
        return (kept * keep).MoveToOuterDisposeScope();
    }
}
