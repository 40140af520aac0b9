using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// The class-suppression loss (PAPERS.md §4, the authors' DropClass code):
/// λ·CE(plain logits) + (1−λ)·CE(drop-branch logits, pixels of class d ignored)
/// + α · mean over (B, H, W) of softmax(drop logits)_d, with λ and d from
/// <see cref="SegmentationOutput.Suppression"/> (α = <see cref="ClassSuppressionOptions.SuppressionWeight"/>).
/// The term list has the same length whether or not a class was dropped, so the term vector the trainer all-reduces
/// keeps one layout whatever was drawn (data-parallel ranks share the sampler's seed and drop the same class each
/// step; <see cref="ClassSuppressionOptions.Seed"/>). Auxiliary predictions keep <see cref="SegmentationCriterion"/>'s
/// terms. Each CE is a mean over its valid pixels; the suppression term a mean over all B·H·W pixels (the authors take it at the feature
/// grid; here the logits are at the input size). Without <see cref="SegmentationOutput.Suppression"/>
/// (eval mode or an unwrapped model) this is exactly <see cref="SegmentationCriterion"/> on the logits.
/// </summary>
public sealed class ClassSuppressionCriterion : ISegmentationCriterion
{
    /// <summary>The target nll_loss skips (libtorch's ignore_index default), kept alive (see <see cref="KeptScalars"/>).</summary>
    private static readonly Scalar NllIgnore = (-100L).ToScalar();

    private readonly SegmentationCriterion _base;

    public ClassSuppressionCriterion(LossOptions loss, ClassSuppressionOptions suppression)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        _base = new SegmentationCriterion(loss);
        loss.RequireFullResolutionLabels(nameof(ClassSuppressionCriterion));  // the drop branch's CE is at full resolution
        SuppressionWeight = suppression.SuppressionWeight;
    }

    /// <summary>α.</summary>
    public double SuppressionWeight { get; }

    /// <inheritdoc/>
    public LossTerms Terms(SegmentationOutput output, Tensor labels, Tensor images, Tensor? content = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        if (output.Suppression is not { } branch)
            return _base.Terms(output, labels);

        int ignore = _base.Options.IgnoreIndex;
        using var ignoreScalar = ignore.ToScalar();  // held for the native calls (see KeptScalars)
        // Plain branch; auxiliaries as in SegmentationCriterion.
        var plain = _base.Terms(output with { Logits = branch.PlainLogits, Suppression = null }, labels);
        var sums = new List<Tensor>(plain.Sums);
        var counts = new List<Tensor>(plain.Counts);
        var weights = new List<double>(plain.Weights);
        var final = _base.Options.FinalWeight;  // the two branches share the final term's weight: λ·F and (1 − λ)·F
        weights[0] = final * branch.PlainWeight;

        // Drop branch: class d becomes ignore. One log_softmax serves both of its terms: nll_loss of it is the CE, exp of
        // class d's plane its softmax probability (a second softmax would be one more pass and (B, K, H, W) buffer).
        // TorchSharp 0.107's nll_loss takes no ignore_index, so ignore and class d pixels get libtorch's default, −100.
        using var dropped = branch.DroppedClass.ToScalar();
        var dropLabels = labels.masked_fill(labels.eq(ignoreScalar).logical_or(labels.eq(dropped)), NllIgnore);  // (B, H, W)
        var logProbabilities = nn.functional.log_softmax(output.Logits, 1);  // (B, K, H, W)
        sums.Add(nn.functional.nll_loss(logProbabilities, dropLabels, reduction: nn.Reduction.Sum));
        counts.Add(dropLabels.ne(NllIgnore).sum(ScalarType.Float64));
        weights.Add(final * (1 - branch.PlainWeight));

        // Suppression term; present (zero) even when nothing is dropped: one term layout every step.
        var probability = branch.DroppedClass >= 0
            ? logProbabilities.select(1, branch.DroppedClass).exp()  // (B, H, W)
            : zeros_like(output.Logits.select(1, 0));
        sums.Add(probability.sum());
        counts.Add(LossTerms.Constant(probability.numel(), labels.device));
        weights.Add(SuppressionWeight);
        return new LossTerms(sums, counts, weights);
    }

    /// <summary>Single-process loss: the terms normalised by their local counts.</summary>
    public Tensor Forward(SegmentationOutput output, Tensor labels, Tensor images) =>
        SegmentationCriterion.LocalLoss(this, output, labels, images);
}
