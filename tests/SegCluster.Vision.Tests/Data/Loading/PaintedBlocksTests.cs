using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Data.Loading;

/// <summary>Painted blocks are <see cref="BlockAnnotator"/>'s labels spread over their blocks (PAPERS.md §2), edge blocks
/// of a size b does not divide included; the full mask is left as it is.</summary>
public sealed class PaintedBlocksTests
{
    [Fact]
    public void Every_pixel_takes_its_block_label_and_impure_blocks_become_ignore()
    {
        const int height = 6, width = 7, b = 4;
        var mask = new byte[height * width];
        for (int i = 0; i < mask.Length; i++) mask[i] = (byte)(i % width < b ? 0 : i % 3);  // left blocks 0, right ones mixed
        mask[1 * width + 1] = 1;  // block (0, 0) stays 0 at 15/16
        mask[^1] = 255;
        var original = (byte[])mask.Clone();
        var annotator = new BlockAnnotator(numClasses: 3, b, minPurity: 0.7);

        var painted = new PaintedBlocks(annotator).Paint(0, mask, height, width);

        using var scope = NewDisposeScope();
        var blocks = annotator.Labels(tensor(mask, [1, height, width]))[0];  // (2, 2)
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                Assert.Equal(blocks[y / b, x / b].item<long>(), painted[y * width + x]);
        Assert.Contains((byte)255, painted);   // an impure block
        Assert.Contains((byte)0, painted);     // a pure enough one
        Assert.Equal(original, mask);
    }
}
