using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// The local, un-normalised pieces of the loss: for each term t (0 = final logits, then one per
/// auxiliary prediction) the sum of per-pixel cross-entropy over this rank's valid pixels, their
/// count (the total soft mass Σ Ỹ for a soft-label term, fractional when cells are partly ignore), and
/// the term's weight. Normalising by GLOBAL counts (summed over all ranks) makes W ranks × batch b exactly
/// equivalent to one rank × batch W·b, ignore pixels included.
/// </summary>
/// <param name="Sums">Scalar tensors with autograd history, one per term.</param>
/// <param name="ValidCounts">Local non-ignore pixel count of each term (at that term's grid); a soft term's soft mass.</param>
/// <param name="Weights">w_t.</param>
public sealed record LossTerms(IReadOnlyList<Tensor> Sums, IReadOnlyList<double> ValidCounts, IReadOnlyList<double> Weights)
{
    /// <summary>Number of terms.</summary>
    public int Count => Sums.Count;
}
