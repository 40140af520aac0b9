using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// Synthesises scribble supervision from full masks (PAPERS.md §5 uses scribbles; §2 block labels are
/// the other weak form): for every class present in an image, one horizontal and one vertical stroke,
/// one pixel thick, drawn through a random row / column of the class mask eroded by
/// <paramref name="margin"/> pixels, so strokes stay inside objects, away from boundaries. Every other
/// pixel is ignore. Deterministic: a pure function of (labels, seed).
/// </summary>
/// <param name="numClasses">K.</param>
/// <param name="seed">Seed of the row/column choice.</param>
/// <param name="margin">Erosion radius in pixels (>= 0).</param>
/// <param name="ignoreIndex">Ignore label.</param>
public sealed class ScribbleSynthesizer(int numClasses, int seed, int margin = 2, int ignoreIndex = 255)
{
    public int NumClasses { get; } = numClasses;

    public int Margin { get; } = margin >= 0 ? margin
        : throw new ArgumentOutOfRangeException(nameof(margin), margin, "the erosion margin must be >= 0");

    /// <summary>(B, H, W) full labels → (B, H, W) int64 scribbles on the labels' device.</summary>
    public Tensor Synthesize(Tensor labels)
    {
        LabelGrid.Check(labels, 1);
        using var scope = NewDisposeScope();
        long b = labels.shape[0], h = labels.shape[1], w = labels.shape[2];
        var oneHot = LabelGrid.ClassFractions(labels, NumClasses, 1, ignoreIndex);                  // (B, K, H, W)
        // Erosion of each class mask = 1 − dilation of its complement = min over the window = −max-pool(−mask), width 2r+1
        // (negation needs no Scalar, see KeptScalars).
        var eroded = Margin == 0 ? oneHot
            : nn.functional.max_pool2d(oneHot.neg(), 2 * Margin + 1, 1, Margin).neg();
        var mask = eroded.gt(KeptScalars.Half).cpu();                                                 // (B, K, H, W)
        var inside = mask.data<bool>().ToArray();
        var output = Enumerable.Repeat((long)ignoreIndex, (int)(b * h * w)).ToArray();
        var rng = new Random(seed);
        for (long i = 0; i < b; i++)
            for (int k = 0; k < NumClasses; k++)
            {
                long plane = (i * NumClasses + k) * h * w;
                var rows = Enumerable.Range(0, (int)h).Where(y => Any(inside, plane + y * w, 1, w)).ToArray();
                var cols = Enumerable.Range(0, (int)w).Where(x => Any(inside, plane + x, w, h)).ToArray();
                if (rows.Length == 0) continue;
                long row = rows[rng.Next(rows.Length)], col = cols[rng.Next(cols.Length)];
                for (long x = 0; x < w; x++)
                    if (inside[plane + row * w + x]) output[(i * h + row) * w + x] = k;
                for (long y = 0; y < h; y++)
                    if (inside[plane + y * w + col]) output[(i * h + y) * w + col] = k;
            }
        return tensor(output, [b, h, w]).to(labels.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// As <see cref="Synthesize"/>, image by image, each seeded by the seed and a hash of that image's mask:
    /// an image gets the same strokes in whichever batch and position it appears, as a fixed weak
    /// annotation would (training re-synthesises every step).
    /// </summary>
    /// <param name="labels">(B, H, W) full labels.</param>
    /// <returns>(B, H, W) int64 scribbles on the labels' device.</returns>
    public Tensor SynthesizePerImage(Tensor labels)
    {
        LabelGrid.Check(labels, 1);
        using var scope = NewDisposeScope();
        var images = new Tensor[labels.shape[0]];
        for (long i = 0; i < images.Length; i++)
        {
            var mask = labels[i].unsqueeze(0);                                                         // (1, H, W)
            var synthesizer = new ScribbleSynthesizer(NumClasses, unchecked(seed * 16777619 ^ ContentHash(mask)), Margin, ignoreIndex);
            images[i] = synthesizer.Synthesize(mask);
        }
        return cat(images, 0).MoveToOuterDisposeScope();
    }

    /// <summary>FNV-1a over the mask's values: stable across processes and ranks (HashCode is randomised per process).</summary>
    private static int ContentHash(Tensor mask)
    {
        using var cpu = mask.to(ScalarType.Int64).cpu();
        uint hash = 2166136261;
        foreach (var v in cpu.data<long>())
            hash = (hash ^ (uint)v) * 16777619;
        return (int)hash;
    }

    private static bool Any(bool[] values, long start, long stride, long count)
    {
        for (long j = 0; j < count; j++)
            if (values[start + j * stride]) return true;
        return false;
    }
}
