using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Block-wise weak annotation (PAPERS.md §2): the label map is cut into b×b blocks and each block gets
/// one label, the majority class of its valid pixels; with <paramref name="minPurity"/> > 0 a block whose
/// majority holds a smaller share of its valid pixels becomes ignore. Training uses the block grid.
/// </summary>
/// <param name="numClasses">K.</param>
/// <param name="blockSize">b >= 1.</param>
/// <param name="minPurity">In [0, 1]; 0 keeps every block with a valid pixel.</param>
/// <param name="ignoreIndex">Ignore label.</param>
public sealed class BlockAnnotator(int numClasses, int blockSize, double minPurity = 0, int ignoreIndex = 255)
{
    public int NumClasses { get; } = numClasses >= 1 ? numClasses
        : throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be >= 1");

    public int BlockSize { get; } = blockSize >= 1 ? blockSize
        : throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "the block size b must be >= 1");

    public double MinPurity { get; } = minPurity is >= 0 and <= 1 ? minPurity
        : throw new ArgumentOutOfRangeException(nameof(minPurity), minPurity, "the block purity threshold must be in [0, 1]");

    public int IgnoreIndex { get; } = ignoreIndex;

    /// <summary>Annotation cost saved on an H × W image (PAPERS.md §2): 1 − ⌈H/b⌉·⌈W/b⌉ / (H·W), one label per block
    /// instead of one per pixel.</summary>
    public static double CostSaved(long height, long width, int blockSize) =>
        1.0 - (double)(LabelGrid.CoarseSize(height, blockSize) * LabelGrid.CoarseSize(width, blockSize)) / (height * width);

    /// <summary>Block labels of (B, H, W) labels, on their device, with the annotation's cost and ignored blocks.</summary>
    public BlockAnnotation Annotate(Tensor labels)
    {
        using var scope = NewDisposeScope();
        var blocks = Labels(labels);                                                                // (B, h, w)
        using var ignore = IgnoreIndex.ToScalar();  // held for the native call (see KeptScalars)
        long ignored = blocks.eq(ignore).sum().item<long>();
        return new BlockAnnotation(blocks.MoveToOuterDisposeScope(), blocks.numel(), labels.numel(), ignored);
    }

    /// <summary>
    /// Only the block labels (B, ⌈H/b⌉, ⌈W/b⌉) int64 of (B, H, W) labels, on their device: what training needs every step,
    /// without <see cref="Annotate"/>'s count of ignored blocks, a host sync whose result the criterion had no use for.
    /// </summary>
    public Tensor Labels(Tensor labels)
    {
        using var scope = NewDisposeScope();
        var fractions = LabelGrid.ClassFractions(labels, NumClasses, BlockSize, IgnoreIndex);        // (B, K, h, w)
        return MajorityLabelDownsampler.FromFractions(fractions, IgnoreIndex, MinPurity).MoveToOuterDisposeScope();  // (B, h, w)
    }
}
