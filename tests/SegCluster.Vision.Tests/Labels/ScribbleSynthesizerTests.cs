using SegCluster.Vision.Labels;

namespace SegCluster.Vision.Tests.Labels;

/// <summary>Scribbles drawn from a full mask (PAPERS.md §5): one row and one column per class through its eroded mask.</summary>
public class ScribbleSynthesizerTests
{
    private const int Side = 20;
    private const byte Ignore = 255;

    /// <summary>Background 0; a box of class 1 (rows 4–15, columns 3–16); a class-2 bar two pixels thick (rows 18–19,
    /// columns 0–9), too thin to survive a margin of 2.</summary>
    private static byte[] Mask()
    {
        var mask = new byte[Side * Side];
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                mask[y * Side + x] = y is >= 4 and <= 15 && x is >= 3 and <= 16 ? (byte)1 : y >= 18 && x <= 9 ? (byte)2 : (byte)0;
        return mask;
    }

    /// <summary>The erosion by its definition: every pixel of the (2r+1)² window inside the image has p's class.</summary>
    private static bool Inside(byte[] mask, int y, int x, int r)
    {
        for (int v = Math.Max(0, y - r); v <= Math.Min(Side - 1, y + r); v++)
            for (int u = Math.Max(0, x - r); u <= Math.Min(Side - 1, x + r); u++)
                if (mask[v * Side + u] != mask[y * Side + x]) return false;
        return true;
    }

    [Fact]
    public void Each_class_gets_one_whole_row_and_one_whole_column_of_its_eroded_mask()
    {
        var mask = Mask();
        var strokes = new ScribbleSynthesizer(numClasses: 3, seed: 7).Draw(mask, Side, Side, key: 0);

        for (byte k = 0; k < 2; k++)
        {
            var marked = Enumerable.Range(0, Side * Side).Where(p => strokes[p] == k).ToHashSet();
            Assert.All(marked, p => Assert.True(mask[p] == k && Inside(mask, p / Side, p % Side, 2), $"class {k} stroke at {p} is outside its eroded mask"));
            // Every marked pixel lies on one chosen row or one chosen column, and those lines are marked wherever the eroded mask crosses them.
            var rows = marked.GroupBy(p => p / Side).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            var columns = marked.GroupBy(p => p % Side).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            int row = Assert.Single(rows), column = Assert.Single(columns);
            for (int x = 0; x < Side; x++)
                Assert.Equal(mask[row * Side + x] == k && Inside(mask, row, x, 2), marked.Contains(row * Side + x));
            for (int y = 0; y < Side; y++)
                Assert.Equal(mask[y * Side + column] == k && Inside(mask, y, column, 2), marked.Contains(y * Side + column));
        }
        Assert.DoesNotContain((byte)2, strokes);                           // the thin bar erodes to nothing
        Assert.InRange(strokes.Count(v => v != Ignore), 4, Side * Side / 4);  // sparse
        Assert.Equal(Mask(), mask);                                         // the input is left alone
    }

    [Fact]
    public void Strokes_are_a_pure_function_of_seed_and_image()
    {
        var mask = Mask();
        var synthesizer = new ScribbleSynthesizer(3, seed: 7);
        var drawn = synthesizer.Draw(mask, Side, Side, key: 4);
        Assert.Equal(drawn, new ScribbleSynthesizer(3, seed: 7).Draw(mask, Side, Side, key: 4));
        var others = Enumerable.Range(5, 8).Select(key => synthesizer.Draw(mask, Side, Side, key))
            .Concat(Enumerable.Range(8, 8).Select(seed => new ScribbleSynthesizer(3, seed).Draw(mask, Side, Side, key: 4)));
        Assert.Contains(others, other => !other.SequenceEqual(drawn));     // other images and seeds draw elsewhere
    }

    [Fact]
    public void Margin_zero_keeps_every_pixel_of_the_class_eligible()
    {
        var mask = Mask();
        var strokes = new ScribbleSynthesizer(3, seed: 1, margin: 0).Draw(mask, Side, Side, key: 0);
        Assert.Contains((byte)2, strokes);                                  // the thin bar is scribbled without erosion
    }

    [Fact]
    public void Bad_masks_are_refused_with_what_is_wrong()
    {
        var synthesizer = new ScribbleSynthesizer(3, seed: 1);
        var mask = Mask();
        mask[2 * Side + 5] = 9;
        var error = Assert.Throws<ArgumentException>(() => synthesizer.Draw(mask, Side, Side, key: 0));
        Assert.Contains("label value 9 at (2, 5)", error.Message);
        error = Assert.Throws<ArgumentException>(() => synthesizer.Draw(new byte[10], Side, Side, key: 0));
        Assert.Contains("needs 400 labels, got 10", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScribbleSynthesizer(3, seed: 1, margin: -1));
    }
}
