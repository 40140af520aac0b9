using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// The usual baseline (PAPERS.md §3 "Baselines"): the top-left pixel of each f×f cell, i.e. PyTorch
/// "nearest" at an integer factor. Label ids survive exactly; nothing is averaged.
/// </summary>
public static class NearestLabelDownsampler
{
    /// <summary>(B, H, W) labels → (B, ⌈H/f⌉, ⌈W/f⌉) int64 on the same device; factor 1 returns a copy.</summary>
    public static Tensor Downsample(Tensor labels, int factor)
    {
        LabelGrid.Check(labels, factor);
        using var scope = NewDisposeScope();
        var step = TensorIndex.Slice(0, null, factor);
        return labels[TensorIndex.Colon, step, step].to(ScalarType.Int64).contiguous().clone().MoveToOuterDisposeScope();
    }
}
