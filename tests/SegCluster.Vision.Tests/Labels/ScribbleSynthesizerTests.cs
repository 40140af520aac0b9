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
    private static bool Inside(byte[] mask, int height, int width, int y, int x, int r)
    {
        if (mask[y * width + x] == Ignore) return false;
        for (int v = Math.Max(0, y - r); v <= Math.Min(height - 1, y + r); v++)
            for (int u = Math.Max(0, x - r); u <= Math.Min(width - 1, x + r); u++)
                if (mask[v * width + u] != mask[y * width + x]) return false;
        return true;
    }

    /// <summary>
    /// Each class whose eroded mask is not empty has one row and one column: every pixel of its eroded mask on them is
    /// marked with it, and nothing else is marked. Classes whose eroded mask is empty are not marked at all.
    /// </summary>
    private static void AssertStrokes(byte[] mask, int height, int width, byte[] strokes, int numClasses, int margin)
    {
        for (byte k = 0; k < numClasses; k++)
        {
            bool InsideK(int y, int x) => mask[y * width + x] == k && Inside(mask, height, width, y, x, margin);
            var marked = Enumerable.Range(0, height * width).Where(p => strokes[p] == k).ToHashSet();
            if (!Enumerable.Range(0, height * width).Any(p => InsideK(p / width, p % width)))
            {
                Assert.Empty(marked);
                continue;
            }
            Assert.All(marked, p => Assert.True(InsideK(p / width, p % width), $"class {k} stroke at {p} is outside its eroded mask"));
            var rows = Enumerable.Range(0, height).Where(y => Enumerable.Range(0, width).All(x => InsideK(y, x) == marked.Contains(y * width + x))
                && Enumerable.Range(0, width).Any(x => InsideK(y, x))).ToList();
            var columns = Enumerable.Range(0, width).Where(x => Enumerable.Range(0, height).All(y => InsideK(y, x) == marked.Contains(y * width + x))
                && Enumerable.Range(0, height).Any(y => InsideK(y, x))).ToList();
            // Some chosen row and column account for every marked pixel.
            Assert.Contains(rows, row => columns.Any(column => marked.All(p => p / width == row || p % width == column)));
        }
    }

    [Fact]
    public void Each_class_gets_one_whole_row_and_one_whole_column_of_its_eroded_mask()
    {
        var mask = Mask();
        var strokes = new ScribbleSynthesizer(numClasses: 3, seed: 7).Draw(mask, Side, Side, key: 0);

        AssertStrokes(mask, Side, Side, strokes, numClasses: 3, margin: 2);
        Assert.DoesNotContain((byte)2, strokes);                           // the thin bar erodes to nothing
        Assert.Contains((byte)1, strokes);
        Assert.InRange(strokes.Count(v => v != Ignore), 4, Side * Side / 4);  // sparse
        Assert.Equal(Mask(), mask);                                         // the input is left alone
    }

    /// <summary>Random blobs, ignore pixels and image borders, at margins 0 to 3, against the erosion's definition.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_masks_agree_with_the_definition_of_erosion(int margin)
    {
        var random = new Random(margin);
        for (int trial = 0; trial < 20; trial++)
        {
            int height = random.Next(1, 24), width = random.Next(1, 24);
            var mask = new byte[height * width];
            Array.Fill(mask, (byte)random.Next(4));
            for (int blob = 0; blob < 6; blob++)
            {
                int top = random.Next(height), left = random.Next(width), h = random.Next(1, 12), w = random.Next(1, 12);
                byte value = random.Next(6) == 0 ? Ignore : (byte)random.Next(4);
                for (int y = top; y < Math.Min(height, top + h); y++)
                    for (int x = left; x < Math.Min(width, left + w); x++)
                        mask[y * width + x] = value;
            }
            var strokes = new ScribbleSynthesizer(4, seed: trial, margin).Draw(mask, height, width, key: trial);
            AssertStrokes(mask, height, width, strokes, numClasses: 4, margin);
        }
    }

    /// <summary>At the largest margin the run counters reach 255: they wrapped to 0 before being capped, and a class
    /// 300 rows tall kept 4 stroke pixels instead of its eroded rows' line.</summary>
    [Fact]
    public void The_largest_margin_erodes_by_the_definition()
    {
        const int height = 600, width = 3;
        var mask = new byte[height * width];
        Array.Fill(mask, (byte)1, height * width / 2, height * width / 2);  // rows 300–599 class 1, rows 0–299 class 0

        var strokes = new ScribbleSynthesizer(2, seed: 3, ScribbleSynthesizer.MaxMargin).Draw(mask, height, width, key: 0);

        AssertStrokes(mask, height, width, strokes, numClasses: 2, ScribbleSynthesizer.MaxMargin);
        Assert.Contains((byte)0, strokes);
        Assert.Contains((byte)1, strokes);
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
    public void A_source_draws_an_images_scribbles_once_and_paints_them_every_epoch()
    {
        var mask = Mask();
        var synthesizer = new ScribbleSynthesizer(3, seed: 7);
        var drawn = new SegCluster.Vision.Data.Loading.DrawnScribbles(synthesizer);

        Assert.Equal(synthesizer.Draw(mask, Side, Side, key: 3), drawn.Paint(3, mask, Side, Side));
        var later = drawn.Paint(3, new byte[Side * Side], Side, Side);      // the mask is read on first use only
        Assert.Equal(synthesizer.Draw(mask, Side, Side, key: 3), later);
        Assert.NotSame(later, drawn.Paint(3, mask, Side, Side));             // a fresh mask each time: callers may keep or change it
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
