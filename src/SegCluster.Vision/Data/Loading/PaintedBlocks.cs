using System.Collections.Concurrent;
using SegCluster.Vision.Labels;
using static TorchSharp.torch;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// Block-wise weak annotation of a training source's images (PAPERS.md §2): each image's full mask, before augmentation,
/// gets <paramref name="annotator"/>'s block labels (majority, or ignore when not pure enough), and every pixel of a block
/// is painted with its block's label. Annotating the augmented crops instead moved the b×b grid against the image in
/// every epoch, so across epochs training saw the pixel boundaries inside blocks. The block labels are kept
/// (⌈H/b⌉·⌈W/b⌉ bytes per image, 1/b² of the mask), so an image is annotated once.
/// </summary>
public sealed class PaintedBlocks(BlockAnnotator annotator) : IWeakAnnotation
{
    private readonly ConcurrentDictionary<int, byte[]> _blocks = new();

    public string Key => FormattableString.Invariant($"blocks:{annotator.NumClasses}:{annotator.BlockSize}:{annotator.MinPurity:R}:{annotator.IgnoreIndex}");

    public byte[] Paint(int index, byte[] label, int height, int width)
    {
        int b = annotator.BlockSize;
        if (b == 1) return label;  // a 1×1 block is its own pixel: nothing to keep
        int columns = (int)LabelGrid.CoarseSize(width, b);
        var blocks = _blocks.GetOrAdd(index, static (_, mask) => BlockLabels(mask.annotator, mask.label, mask.height, mask.width), (annotator, label, height, width));
        var painted = new byte[label.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                painted[y * width + x] = blocks[y / b * columns + x / b];
        return painted;
    }

    /// <summary>The block labels of one mask, row-major (⌈H/b⌉, ⌈W/b⌉).</summary>
    private static byte[] BlockLabels(BlockAnnotator annotator, byte[] label, int height, int width)
    {
        using var scope = NewDisposeScope();
        var mask = tensor(label, [1, height, width]);                                 // (1, H, W) uint8
        return annotator.Labels(mask).to(ScalarType.Byte).data<byte>().ToArray();    // (1, ⌈H/b⌉, ⌈W/b⌉)
    }
}
