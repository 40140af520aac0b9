using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// Soft cross-entropy (PAPERS.md §3 "Loss"): −Σ_pixels Σ_k Ỹ_k · log_softmax(logits)_k, normalised by the
/// total soft mass Σ Ỹ of the valid pixels. Ignored pixels have an all-zero target row, so they add
/// neither loss nor mass. log_softmax is used, never log(softmax), for stability.
/// </summary>
public static class SoftCrossEntropyLoss
{
    /// <summary>Un-normalised sum and the soft mass, for data-parallel normalisation by global mass.</summary>
    /// <param name="logits">(B, K, h, w).</param>
    /// <param name="target">(B, K, h, w) soft labels; rows sum to 1 (valid) or 0 (ignore).</param>
    public static (Tensor Sum, double Mass) Terms(Tensor logits, Tensor target)
    {
        CheckShapes(logits, target);
        using var scope = NewDisposeScope();
        var logProbs = nn.functional.log_softmax(logits, 1);  // (B, K, h, w)
        var sum = -(target * logProbs).sum();
        return (sum.MoveToOuterDisposeScope(), target.sum().item<float>());
    }

    /// <summary>The normalised loss, a scalar with autograd history.</summary>
    public static Tensor Forward(Tensor logits, Tensor target)
    {
        var (sum, mass) = Terms(logits, target);
        using (sum)
        {
            using var denominator = Math.Max(mass, 1e-12).ToScalar();
            return sum.div(denominator);
        }
    }

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
