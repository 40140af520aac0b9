using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// Soft cross-entropy (PAPERS.md §3 "Loss"): −Σ_pixels Σ_k Ỹ_k · log_softmax(logits)_k, normalised by the
/// total soft mass Σ Ỹ of the valid pixels (the authors' loss/utils.py: loss.sum() / targets.sum()). A row may sum
/// to less than 1 (a cell partly covered by ignore pixels keeps its raw area fractions), so such a cell weighs by its
/// valid share; ignored pixels have an all-zero row and add neither loss nor mass. log_softmax is used, never
/// log(softmax), for stability.
/// </summary>
public static class SoftCrossEntropyLoss
{
    /// <summary>Un-normalised sum and the soft mass, for data-parallel normalisation by global mass.</summary>
    /// <param name="logits">(B, K, h, w).</param>
    /// <param name="target">(B, K, h, w) soft labels; each row sums to its cell's valid share in [0, 1] (0: ignore).</param>
    /// <returns>The sum with autograd history, and the soft mass Σ Ỹ summed in float64 (fractional, not rounded): a scalar
    /// tensor on the target's device, left there for the caller to read with its other values (<see cref="LossTerms.Read"/>).</returns>
    public static (Tensor Sum, Tensor Mass) Terms(Tensor logits, Tensor target)
    {
        CheckShapes(logits, target);
        using var scope = NewDisposeScope();
        var logProbs = nn.functional.log_softmax(logits, 1);  // (B, K, h, w)
        var sum = -(target * logProbs).sum();
        var mass = target.sum(ScalarType.Float64);
        return (sum.MoveToOuterDisposeScope(), mass.MoveToOuterDisposeScope());
    }

    /// <summary>The normalised loss, a scalar with autograd history.</summary>
    public static Tensor Forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (sum, mass) = Terms(logits, target);
        return Normalised(sum, mass).MoveToOuterDisposeScope();
    }

    /// <summary>The sum over the soft mass floored at 1e-12 (an all-ignored target divides a zero sum), divided in float64
    /// and returned in the sum's dtype: in fp16 a mass above 65504 would be inf and the floor 0.</summary>
    internal static Tensor Normalised(Tensor sum, Tensor mass) =>
        sum.to(ScalarType.Float64).div(mass.clamp_min(KeptScalars.MassFloor)).to(sum.dtype);

    internal static void CheckShapes(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (!logits.shape.SequenceEqual(target.shape))
            throw new ArgumentException(
                $"logits ({string.Join(", ", logits.shape)}) and soft target ({string.Join(", ", target.shape)}) must have one shape (B, K, h, w)",
                nameof(target));
    }
}
