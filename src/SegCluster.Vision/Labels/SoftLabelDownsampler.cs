using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Soft label down-sampling as the authors' code does it (PAPERS.md §3): one-hot with ignore pixels at
/// zero mass, area average-pool by f, keep the per-class proportions of the valid mass. Each valid
/// low-res pixel's row sums to 1; an ignored one (no valid mass, or below
/// <see cref="SoftLabelOptions.MinValidFraction"/>) is all zeros, so losses weighting by Σ_k Ỹ_k skip it.
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

    /// <summary>(B, H, W) labels → (B, K, ⌈H/f⌉, ⌈W/f⌉) float32 proportions on the labels' device.</summary>
    public Tensor Downsample(Tensor labels, int factor)
    {
        using var scope = NewDisposeScope();
        var fractions = LabelGrid.ClassFractions(labels, NumClasses, factor, Options.IgnoreIndex);  // (B, K, h, w)
        var mass = fractions.sum(1, keepdim: true);                                                 // (B, 1, h, w)
        using var least = Options.MinValidFraction.ToScalar();  // held for the native call (see KeptScalars)
        var keep = mass.gt(KeptScalars.Zero).logical_and(mass.ge(least)).to(ScalarType.Float32);
        return (fractions / mass.clamp_min(KeptScalars.MassFloor) * keep).MoveToOuterDisposeScope();
    }
}
