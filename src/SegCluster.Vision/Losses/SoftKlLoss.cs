using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// KL(Ỹ ‖ S) = Σ_k Ỹ_k (log P_k − log_softmax(logits)_k) with P = Ỹ / Σ_k Ỹ_k the cell's class distribution,
/// normalised like <see cref="SoftCrossEntropyLoss"/> (PAPERS.md §3). A cell whose row sums to its valid share m &lt; 1
/// contributes m · KL(P ‖ S): the same weight as in the soft CE, and 0 when the prediction equals its distribution
/// (log Ỹ_k itself would add m·log m, a negative constant, so a perfect prediction would not score 0). It differs from
/// the soft CE by the target entropy, a constant, so the gradients are the same. 0·log 0 = 0.
/// </summary>
public static class SoftKlLoss
{
    /// <summary>Lower bound inside log Ỹ: 0·log(1e-30) = 0, and kept alive (see <see cref="KeptScalars"/>).</summary>
    private static readonly Scalar LogFloor = 1e-30.ToScalar();

    /// <summary>Un-normalised sum and the soft mass; see <see cref="SoftCrossEntropyLoss.Terms"/>.</summary>
    public static (Tensor Sum, Tensor Mass) Terms(Tensor logits, Tensor target)
    {
        var (crossEntropy, mass) = SoftCrossEntropyLoss.Terms(logits, target);
        using var scope = NewDisposeScope();
        using (crossEntropy)
        {
            // Σ Ỹ log P, the mass-weighted negative entropy of each cell's distribution; a constant of the labels.
            var cellMass = target.sum(1, keepdim: true);                           // (B, 1, h, w)
            var distribution = target / cellMass.clamp_min(KeptScalars.MassFloor);  // (B, K, h, w), rows sum to 1 or 0
            var negEntropy = (target * distribution.clamp_min(LogFloor).log()).sum().detach();
            return (crossEntropy.add(negEntropy, KeptScalars.One).MoveToOuterDisposeScope(), mass);
        }
    }

    /// <summary>The normalised loss, a scalar with autograd history.</summary>
    public static Tensor Forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (sum, mass) = Terms(logits, target);
        return SoftCrossEntropyLoss.Normalised(sum, mass).MoveToOuterDisposeScope();
    }
}
