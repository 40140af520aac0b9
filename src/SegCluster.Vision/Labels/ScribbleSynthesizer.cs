using SegCluster.Vision.Data;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Synthesises scribble annotation from a full mask (PAPERS.md §5 trains on scribbles; §2 block labels are the
/// other weak form): for every class present in an image, one horizontal and one vertical stroke, one pixel thick,
/// drawn through a random row / column of the class mask eroded by <see cref="Margin"/> pixels, so strokes stay
/// inside objects, away from boundaries. Every other pixel is ignore.
/// <para>
/// The training sources draw it once per image from the full, un-augmented mask, seeded by (seed, sample index),
/// and augment the strokes with the image: a fixed annotation, as a human's scribbles are, whatever the crop, flip,
/// epoch, batch or rank. Drawing after a crop would move the strokes with every crop.
/// </para>
/// </summary>
/// <param name="numClasses">K: label values 0..K−1 can be scribbled.</param>
/// <param name="seed">Seed of the row / column choice (the run's seed).</param>
/// <param name="margin">Erosion radius in pixels (>= 0).</param>
public sealed class ScribbleSynthesizer(int numClasses, int seed, int margin = 2)
{
    public int NumClasses { get; } = numClasses is > 0 and < SegmentationSample.IgnoreLabel ? numClasses
        : throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"the class count must be in [1, {SegmentationSample.IgnoreLabel - 1}]");

    public int Margin { get; } = margin is >= 0 and <= MaxMargin ? margin
        : throw new ArgumentOutOfRangeException(nameof(margin), margin, $"the erosion margin must be in [0, {MaxMargin}] pixels");

    /// <summary>Largest erosion margin: run lengths are counted in bytes up to margin + 1.</summary>
    public const int MaxMargin = 254;

    public int Seed { get; } = seed;

    /// <summary>
    /// The scribbles of one image as a mask: a pure function of (label, seed, <paramref name="key"/>).
    /// </summary>
    /// <param name="label">H·W class ids, row-major; <see cref="SegmentationSample.IgnoreLabel"/> = ignore.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="key">Which image (its index in the split): different images draw different rows and columns.</param>
    /// <returns>H·W class ids: the strokes, ignore elsewhere. <paramref name="label"/> is not modified.</returns>
    public byte[] Draw(ReadOnlySpan<byte> label, int height, int width, int key) => Strokes(label, height, width, key).Paint();

    /// <summary>As <see cref="Draw"/>, kept as line segments: a few per class, where the mask takes H·W bytes.</summary>
    public ScribbleStrokes Strokes(ReadOnlySpan<byte> label, int height, int width, int key)
    {
        if (height <= 0 || width <= 0 || label.Length != height * width)
            throw new ArgumentException($"a {height}×{width} mask needs {(long)height * width} labels, got {label.Length}", nameof(label));
        for (int p = 0; p < label.Length; p++)
            if (label[p] >= NumClasses && label[p] != SegmentationSample.IgnoreLabel)
                throw new ArgumentException(
                    $"label value {label[p]} at ({p / width}, {p % width}) is neither a class id below {NumClasses} nor ignore ({SegmentationSample.IgnoreLabel})",
                    nameof(label));
        var inside = ErodedInside(label, height, width);
        // Rows and columns that cross each class's eroded mask: rows[k·H + y], columns[k·W + x].
        var rows = new bool[NumClasses * height];
        var columns = new bool[NumClasses * width];
        for (int y = 0, p = 0; y < height; y++)
            for (int x = 0; x < width; x++, p++)
                if (inside[p])
                    rows[label[p] * height + y] = columns[label[p] * width + x] = true;

        var segments = new List<ScribbleStrokes.Segment>();
        var random = new SplitMixRandom(Seed, key);
        for (int k = 0; k < NumClasses; k++)
        {
            int row = Pick(rows.AsSpan(k * height, height), ref random);
            if (row < 0) continue;                                   // absent, or too thin to survive the erosion
            int column = Pick(columns.AsSpan(k * width, width), ref random);
            AddRuns(segments, label, inside, (byte)k, start: row * width, count: width, stride: 1);     // the row
            AddRuns(segments, label, inside, (byte)k, start: column, count: height, stride: width);     // the column
        }
        return new ScribbleStrokes(height, width, [.. segments]);
    }

    /// <summary>The runs of class-<paramref name="k"/> pixels of the eroded mask along one line.</summary>
    private static void AddRuns(List<ScribbleStrokes.Segment> into, ReadOnlySpan<byte> label, bool[] inside, byte k, int start, int count, int stride)
    {
        for (int i = 0; i < count; i++)
        {
            int first = i;
            while (i < count && inside[start + i * stride] && label[start + i * stride] == k) i++;
            if (i > first) into.Add(new ScribbleStrokes.Segment(k, start + first * stride, i - first, stride));
        }
    }

    /// <summary>
    /// Pixel p survives the erosion of its class mask when every pixel of the (2r+1)² window around it (clipped at the
    /// image border) has p's class. Separable and linear in the pixels: p is row-inside when its run of equal labels
    /// along the row reaches r pixels to each side (or the border), then inside when its run of row-inside pixels of
    /// its class along the column does.
    /// </summary>
    private bool[] ErodedInside(ReadOnlySpan<byte> label, int height, int width)
    {
        int r = Margin;
        var rowInside = new bool[label.Length];
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int start = 0, end; start < width; start = end)
            {
                for (end = start + 1; end < width && label[row + end] == label[row + start]; end++) { }
                if (label[row + start] == SegmentationSample.IgnoreLabel) continue;
                for (int x = start; x < end; x++)  // the run [start, end) covers [x − r, x + r] clipped to the row
                    rowInside[row + x] = (x - r >= start || start == 0) && (x + r < end || end == width);
            }
        }

        // above[p]: consecutive row-inside pixels of p's class ending at p going up (p included), counted up to r + 1
        // (enough for both tests below: a run reaching the top row is exact while it is shorter); below[p] going down.
        byte cap = (byte)(r + 1);
        var above = new byte[label.Length];
        var below = new byte[label.Length];
        for (int p = 0; p < label.Length; p++)
            if (rowInside[p])
                above[p] = p >= width && rowInside[p - width] && label[p - width] == label[p] ? (byte)Math.Min(cap, above[p - width] + 1) : (byte)1;
        for (int p = label.Length - 1; p >= 0; p--)
            if (rowInside[p])
                below[p] = p + width < label.Length && rowInside[p + width] && label[p + width] == label[p] ? (byte)Math.Min(cap, below[p + width] + 1) : (byte)1;
        var inside = new bool[label.Length];
        for (int y = 0, p = 0; y < height; y++)
            for (int x = 0; x < width; x++, p++)
                inside[p] = rowInside[p] && (above[p] > r || above[p] == y + 1) && (below[p] > r || below[p] == height - y);
        return inside;
    }

    /// <summary>A uniformly drawn index i with crossings[i], or −1 when there is none.</summary>
    private static int Pick(ReadOnlySpan<bool> crossings, ref SplitMixRandom random)
    {
        int count = crossings.Count(true);
        if (count == 0) return -1;
        int chosen = random.NextInt(count);
        for (int i = 0; i < crossings.Length; i++)
            if (crossings[i] && chosen-- == 0) return i;
        throw new InvalidOperationException("unreachable: the count was taken over the same crossings");
    }
}
