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

    public int Margin { get; } = margin >= 0 ? margin
        : throw new ArgumentOutOfRangeException(nameof(margin), margin, "the erosion margin must be >= 0");

    public int Seed { get; } = seed;

    /// <summary>
    /// The scribbles of one image: a pure function of (label, seed, <paramref name="key"/>).
    /// </summary>
    /// <param name="label">H·W class ids, row-major; <see cref="SegmentationSample.IgnoreLabel"/> = ignore.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="key">Which image (its index in the split): different images draw different rows and columns.</param>
    /// <returns>H·W class ids: the strokes, ignore elsewhere. <paramref name="label"/> is not modified.</returns>
    public byte[] Draw(ReadOnlySpan<byte> label, int height, int width, int key)
    {
        if (height <= 0 || width <= 0 || label.Length != height * width)
            throw new ArgumentException($"a {height}×{width} mask needs {(long)height * width} labels, got {label.Length}", nameof(label));
        for (int p = 0; p < label.Length; p++)
            if (label[p] >= NumClasses && label[p] != SegmentationSample.IgnoreLabel)
                throw new ArgumentException(
                    $"label value {label[p]} at ({p / width}, {p % width}) is neither a class id below {NumClasses} nor ignore ({SegmentationSample.IgnoreLabel})",
                    nameof(label));
        var inside = ErodedInside(label, height, width);
        // Rows and columns that cross each class's eroded mask.
        var rows = new bool[NumClasses, height];
        var columns = new bool[NumClasses, width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                if (inside[y * width + x])
                    rows[label[y * width + x], y] = columns[label[y * width + x], x] = true;

        var strokes = new byte[label.Length];
        Array.Fill(strokes, SegmentationSample.IgnoreLabel);
        var random = new SceneRandom(Seed, key);
        for (int k = 0; k < NumClasses; k++)
        {
            int row = Pick(rows, k, height, ref random);
            if (row < 0) continue;                                   // absent, or too thin to survive the erosion
            int column = Pick(columns, k, width, ref random);
            for (int x = 0; x < width; x++)
                if (inside[row * width + x] && label[row * width + x] == k) strokes[row * width + x] = (byte)k;
            for (int y = 0; y < height; y++)
                if (inside[y * width + column] && label[y * width + column] == k) strokes[y * width + column] = (byte)k;
        }
        return strokes;
    }

    /// <summary>
    /// Pixel p survives the erosion of its class mask when every pixel of the (2r+1)² window around it (clipped at the
    /// image border) has p's class. Separable: a row-uniform pass, then a column pass over pixels of the same class.
    /// </summary>
    private bool[] ErodedInside(ReadOnlySpan<byte> label, int height, int width)
    {
        int r = Margin;
        var rowUniform = new bool[label.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                rowUniform[y * width + x] = label[y * width + x] != SegmentationSample.IgnoreLabel
                    && RowUniform(label, y * width + x, Math.Max(0, x - r) - x, Math.Min(width - 1, x + r) - x);
        var inside = new bool[label.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x;
                bool all = rowUniform[p];
                for (int d = Math.Max(0, y - r) - y; all && d <= Math.Min(height - 1, y + r) - y; d++)
                    all = rowUniform[p + d * width] && label[p + d * width] == label[p];
                inside[p] = all;
            }
        return inside;
    }

    private static bool RowUniform(ReadOnlySpan<byte> label, int p, int from, int to)
    {
        for (int d = from; d <= to; d++)
            if (label[p + d] != label[p]) return false;
        return true;
    }

    /// <summary>A uniformly drawn index i with crossings[k, i], or −1 when there is none.</summary>
    private static int Pick(bool[,] crossings, int k, int length, ref SceneRandom random)
    {
        int count = 0;
        for (int i = 0; i < length; i++)
            if (crossings[k, i]) count++;
        if (count == 0) return -1;
        int chosen = random.NextInt(count);
        for (int i = 0; i < length; i++)
            if (crossings[k, i] && chosen-- == 0) return i;
        throw new InvalidOperationException("unreachable: the count was taken over the same crossings");
    }
}
