using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// KL(Ỹ ‖ S) = Σ_k Ỹ_k (log Ỹ_k − log_softmax(logits)_k), normalised like <see cref="SoftCrossEntropyLoss"/>
/// (PAPERS.md §3). It differs from the soft CE by the target entropy, a constant, so the gradients are the
/// same; its value is 0 when the prediction equals the soft label. 0·log 0 = 0.
/// </summary>
public static class SoftKlLoss
{
    /// <summary>Lower bound inside log Ỹ: 0·log(1e-30) = 0, and kept alive (see <see cref="KeptScalars"/>).</summary>
    private static readonly Scalar LogFloor = 1e-30.ToScalar();

    /// <summary>Un-normalised sum and the soft mass; see <see cref="SoftCrossEntropyLoss.Terms"/>.</summary>
    public static (Tensor Sum, double Mass) Terms(Tensor logits, Tensor target)
    {
        var (crossEntropy, mass) = SoftCrossEntropyLoss.Terms(logits, target);
        using var scope = NewDisposeScope();
        using (crossEntropy)
        {
            // Σ Ỹ log Ỹ, the negative target entropy; a constant with respect to the logits.
            var negEntropy = (target * target.clamp_min(LogFloor).log()).sum().detach();
            return (crossEntropy.add(negEntropy, KeptScalars.One).MoveToOuterDisposeScope(), mass);
        }
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
}
