using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>What a segmentation model returns.</summary>
/// <param name="Logits">(B, K, H, W) at the input resolution.</param>
/// <param name="Auxiliary">Intermediate predictions (B, K, h, w) at their own grid (SPGNet's semantic
/// prediction P, PAPERS.md §1 SPG step 1); empty for one-stage models.</param>
public sealed record SegmentationOutput(Tensor Logits, IReadOnlyList<Tensor> Auxiliary);
