using SegCluster.Vision.Models.Debiasing;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>What a segmentation model returns.</summary>
/// <param name="Logits">(B, K, H, W) at the input resolution; (B, K, H/f, W/f) in training mode of a model built
/// with <see cref="ModelOptions.LogitFactor"/> f (the label grid).</param>
/// <param name="Auxiliary">Intermediate predictions (B, K, h, w) at their own grid (SPGNet's semantic
/// prediction P, PAPERS.md §1 SPG step 1); empty for one-stage models.</param>
public sealed record SegmentationOutput(Tensor Logits, IReadOnlyList<Tensor> Auxiliary)
{
    /// <summary>The feature map the head's 1×1 classifier consumes, (B, D, h, w); null when a model
    /// does not expose it. Used by model-agnostic schemes (PAPERS.md §4, §5).</summary>
    public Tensor? Feature { get; init; }

    /// <summary>Per-pixel embedding of a feature consistency head, (B, E, h, w), L2-normalised over E
    /// (PAPERS.md §5); null unless the model is wrapped in a <see cref="Scribbles.FeatureConsistencyNet"/>.</summary>
    public Tensor? Embedding { get; init; }

    /// <summary>The plain branch and the sampled class of class-suppression training (PAPERS.md §4);
    /// null unless the model is a <see cref="ClassSuppressionNet"/> in training mode.</summary>
    public ClassSuppressionBranch? Suppression { get; init; }

    /// <summary>Moves every tensor of the output to the dispose scope outside the current one (each tensor must
    /// appear once: a tensor moved twice would skip a scope); returns this output.</summary>
    public SegmentationOutput MoveToOuterDisposeScope()
    {
        Logits.MoveToOuterDisposeScope();
        foreach (var a in Auxiliary) a.MoveToOuterDisposeScope();
        Feature?.MoveToOuterDisposeScope();
        Embedding?.MoveToOuterDisposeScope();
        Suppression?.PlainLogits.MoveToOuterDisposeScope();
        return this;
    }
}
