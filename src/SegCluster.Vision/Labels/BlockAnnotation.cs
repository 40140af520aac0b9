using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Result of <see cref="BlockAnnotator.Annotate"/>. Owns <see cref="Labels"/> (dispose it, or let the
/// caller's dispose scope do so).
/// </summary>
/// <param name="Labels">(B, ⌈H/b⌉, ⌈W/b⌉) int64 block labels; 255 = ignore (impure or empty block).</param>
/// <param name="Blocks">Number of blocks labelled (B·h·w).</param>
/// <param name="Pixels">Number of pixels a dense annotation would label (B·H·W).</param>
/// <param name="IgnoredBlocks">Blocks set to ignore.</param>
public sealed record BlockAnnotation(Tensor Labels, long Blocks, long Pixels, long IgnoredBlocks)
{
    /// <summary>Annotation cost saved = 1 − blocks / pixels (PAPERS.md §2 "Block-wise weak annotation"); per image
    /// <see cref="BlockAnnotator.CostSaved"/>.</summary>
    public double CostSaved => Pixels == 0 ? 0 : 1.0 - (double)Blocks / Pixels;
}
