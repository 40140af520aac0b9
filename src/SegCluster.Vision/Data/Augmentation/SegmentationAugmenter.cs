using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Data.Augmentation;

/// <summary>
/// Turns a decoded sample into a fixed-size training sample: random scale, random crop (padding with ignore when the
/// scaled image is smaller), horizontal flip and photometric jitter, in one pass over the output pixels. The image is
/// sampled bilinearly; the label by nearest neighbour (sparse scribble labels: any labelled pixel of a shrunk cell),
/// so every output label is an input label or 255
/// (soft labels, PAPERS.md §3, are computed later from these hard labels at the label grid). Draws are a pure
/// function of (seed, epoch, index): any thread, any order, any node gives the same sample.
/// </summary>
public sealed class SegmentationAugmenter
{
    private readonly AugmentationOptions _options;

    public SegmentationAugmenter(AugmentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public AugmentationOptions Options => _options;

    /// <summary>The training view of <paramref name="sample"/> for this (seed, epoch, index).</summary>
    public SegmentationSample Train(DecodedSample sample, int seed, int epoch, int index)
    {
        var o = _options;
        var rng = new SplitMixRandom(seed, epoch, index);
        double scale = o.MinScale + (o.MaxScale - o.MinScale) * rng.NextDouble();
        int scaledH = Math.Max(1, (int)Math.Round(sample.Height * scale)), scaledW = Math.Max(1, (int)Math.Round(sample.Width * scale));
        int top = scaledH > o.Height ? rng.NextInt(scaledH - o.Height + 1) : 0;
        int left = scaledW > o.Width ? rng.NextInt(scaledW - o.Width + 1) : 0;
        bool flip = rng.Chance(o.FlipProbability);
        var jitter = new Photometric(
            1 + (float)(o.Brightness * (2 * rng.NextDouble() - 1)),
            1 + (float)(o.Contrast * (2 * rng.NextDouble() - 1)),
            1 + (float)(o.Saturation * (2 * rng.NextDouble() - 1)));
        return Render(sample, scaledH, scaledW, top, left, flip, jitter);
    }

    /// <summary>The evaluation view: the whole image resized to the output size (image bilinear, label nearest), no randomness.</summary>
    public SegmentationSample Evaluate(DecodedSample sample) =>
        Render(sample, _options.Height, _options.Width, 0, 0, flip: false, Photometric.Identity);

    /// <summary>
    /// Output pixel (y, x) is scaled-image pixel (top + y, left + x), mirrored when flipped; the scaled image is the
    /// source resized to scaledH × scaledW (pixel centres aligned, as align_corners=False). Outside it: image 0
    /// (the normalised mean), label ignore.
    /// </summary>
    private SegmentationSample Render(DecodedSample s, int scaledH, int scaledW, int top, int left, bool flip, Photometric jitter)
    {
        int outH = _options.Height, outW = _options.Width, plane = outH * outW;
        var image = new float[3 * plane];   // CHW, zero = mean after normalisation
        var label = new byte[plane];
        Array.Fill(label, SegmentationSample.IgnoreLabel);
        double sy = (double)s.Height / scaledH, sx = (double)s.Width / scaledW;
        bool fillSparse = _options.SparseLabels && (sy > 1 || sx > 1);  // shrinking scribbles: see LabelInCell
        Span<float> rgb = stackalloc float[3];
        for (int y = 0; y < outH; y++)
        {
            int ys = top + y;
            if (ys >= scaledH) break;
            double fy = Math.Clamp((ys + 0.5) * sy - 0.5, 0, s.Height - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, s.Height - 1);
            float wy = (float)(fy - y0);
            int yn = Math.Min((int)((ys + 0.5) * sy), s.Height - 1);  // nearest source row
            for (int x = 0; x < outW; x++)
            {
                int xsUnflipped = left + x;
                if (xsUnflipped >= scaledW) break;
                int xs = flip ? scaledW - 1 - xsUnflipped : xsUnflipped;
                double fx = Math.Clamp((xs + 0.5) * sx - 0.5, 0, s.Width - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, s.Width - 1);
                float wx = (float)(fx - x0);
                int xn = Math.Min((int)((xs + 0.5) * sx), s.Width - 1);  // nearest source column
                int p = y * outW + x;
                label[p] = s.Label[yn * s.Width + xn];
                if (fillSparse && label[p] == SegmentationSample.IgnoreLabel)
                    label[p] = LabelInCell(s, ys, xs, sy, sx);
                for (int c = 0; c < 3; c++)
                {
                    float a = s.Rgb[3 * (y0 * s.Width + x0) + c], b = s.Rgb[3 * (y0 * s.Width + x1) + c];
                    float d = s.Rgb[3 * (y1 * s.Width + x0) + c], e = s.Rgb[3 * (y1 * s.Width + x1) + c];
                    rgb[c] = ((a + (b - a) * wx) * (1 - wy) + (d + (e - d) * wx) * wy) / 255f;
                }
                jitter.Apply(rgb);
                for (int c = 0; c < 3; c++)
                    image[c * plane + p] = (rgb[c] - ImageNormalization.Mean[c]) / ImageNormalization.Std[c];
            }
        }
        int contentH = Math.Min(outH, scaledH - top), contentW = Math.Min(outW, scaledW - left);
        return new SegmentationSample(image, label, outH, outW)
            { Content = contentH < outH || contentW < outW ? (contentH, contentW) : null };
    }

    /// <summary>The first labelled source pixel of scaled pixel (ys, xs)'s footprint, row by row; ignore when it has none.</summary>
    private static byte LabelInCell(DecodedSample s, int ys, int xs, double sy, double sx)
    {
        int rowEnd = Math.Min((int)Math.Ceiling((ys + 1) * sy), s.Height), columnEnd = Math.Min((int)Math.Ceiling((xs + 1) * sx), s.Width);
        for (int r = (int)(ys * sy); r < rowEnd; r++)
            for (int c = (int)(xs * sx); c < columnEnd; c++)
                if (s.Label[r * s.Width + c] != SegmentationSample.IgnoreLabel) return s.Label[r * s.Width + c];
        return SegmentationSample.IgnoreLabel;
    }

    /// <summary>Brightness, contrast (around mid grey) and saturation (around luma), on [0, 1] colours, clamped.</summary>
    private readonly record struct Photometric(float Brightness, float Contrast, float Saturation)
    {
        public static Photometric Identity => new(1, 1, 1);

        public void Apply(Span<float> rgb)
        {
            if (this == Identity) return;
            for (int c = 0; c < 3; c++)
                rgb[c] = (rgb[c] * Brightness - 0.5f) * Contrast + 0.5f;
            float luma = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
            for (int c = 0; c < 3; c++)
                rgb[c] = Math.Clamp(luma + (rgb[c] - luma) * Saturation, 0f, 1f);
        }
    }
}
