namespace SegCluster.Vision.Data;

/// <summary>
/// Procedural scenes for CPU-sized segmentation experiments (PAPERS.md "Reproduction targets").
/// Class 0 is a background with a colour gradient and noise; classes 1..K-1 are discs, rectangles
/// and triangles filled with solid, checker, stripe or noise textures (see <see cref="SceneClass"/>),
/// placed in random order so they occlude each other. The last class is rare (present in ~12% of
/// images, at about half the size). Ignore (255) pixels come from thin bands on the boundary of about
/// half of the objects and from an occasional unlabelled blob.
/// Sample i is a pure function of (Seed, i): no shared state, thread-safe, any size.
/// </summary>
public sealed class SyntheticSceneDataset : ISegmentationDataset
{
    // Dataset-level normalisation constants, measured over 2,000 samples of the default options
    // (per-channel mean and standard deviation of the raw [0, 1]-ish colours).
    private static readonly float[] Mean = [0.52f, 0.50f, 0.48f];
    private static readonly float[] Std = [0.24f, 0.22f, 0.23f];

    private const float BandHalfWidth = 0.75f;  // px: boundary band marked 255 on banded objects
    private const double BandProbability = 0.5;
    private const double BlobProbability = 0.15;

    private readonly SyntheticSceneOptions _options;
    private readonly SceneClass[] _classes;
    private readonly string[] _names;

    public SyntheticSceneDataset(SyntheticSceneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _classes = Enumerable.Range(1, options.NumClasses - 1).Select(c => SceneClass.For(c, options.NumClasses)).ToArray();
        _names = ["background", .. _classes.Select(c => c.Name)];
    }

    public SyntheticSceneOptions Options => _options;

    public int Count => _options.Count;

    public int NumClasses => _options.NumClasses;

    public IReadOnlyList<string> ClassNames => _names;

    /// <summary>Index of the rare class, or -1 when K &lt; 3.</summary>
    public int RareClass => _options.NumClasses >= 3 ? _options.NumClasses - 1 : -1;

    public SegmentationSample Get(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count})");
        int h = _options.Height, w = _options.Width, plane = h * w;
        var rng = new SplitMixRandom(_options.Seed, index);
        var image = new float[3 * plane];  // CHW
        var label = new byte[plane];        // all background (0)

        PaintBackground(ref rng, image, h, w);
        foreach (var cls in DrawObjects(ref rng))
            PaintObject(ref rng, cls, image, label, h, w);
        if (rng.Chance(BlobProbability))
            PaintIgnoreBlob(ref rng, label, h, w);

        uint noiseKey = rng.NextUInt();
        for (int c = 0; c < 3; c++)
        {
            float mean = Mean[c], invStd = 1f / Std[c];
            var span = image.AsSpan(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                // light sensor noise everywhere, then normalise
                float v = span[p] + 0.03f * SplitMixRandom.PixelNoise(noiseKey + (uint)c, p % w, p / w);
                span[p] = (v - mean) * invStd;
            }
        }
        return new SegmentationSample(image, label, h, w);
    }

    private static void PaintBackground(ref SplitMixRandom rng, float[] image, int h, int w)
    {
        int plane = h * w;
        Span<float> baseColour = [rng.Uniform(0.2, 0.8), rng.Uniform(0.2, 0.8), rng.Uniform(0.2, 0.8)];
        float gx = rng.Uniform(-0.4, 0.4), gy = rng.Uniform(-0.4, 0.4);
        float noise = rng.Uniform(0.02, 0.12);
        uint key = rng.NextUInt();
        for (int y = 0; y < h; y++)
        {
            float fy = gy * ((y + 0.5f) / h - 0.5f);
            for (int x = 0; x < w; x++)
            {
                float g = fy + gx * ((x + 0.5f) / w - 0.5f) + noise * SplitMixRandom.PixelNoise(key, x, y);
                int p = y * w + x;
                image[p] = baseColour[0] + g;
                image[plane + p] = baseColour[1] + g;
                image[2 * plane + p] = baseColour[2] + g;
            }
        }
    }

    /// <summary>The objects of one scene in paint order (later ones occlude earlier ones).</summary>
    private List<SceneClass> DrawObjects(ref SplitMixRandom rng)
    {
        var objects = new List<SceneClass>(2 * _classes.Length);
        foreach (var cls in _classes)
        {
            if (!rng.Chance(cls.Presence)) continue;
            objects.Add(cls);
            if (cls.Presence >= SceneClass.CommonPresence && rng.Chance(0.25))
                objects.Add(cls);
        }
        for (int i = objects.Count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (objects[i], objects[j]) = (objects[j], objects[i]);
        }
        return objects;
    }

    private static void PaintObject(ref SplitMixRandom rng, SceneClass cls, float[] image, byte[] label, int h, int w)
    {
        int plane = h * w, minDim = Math.Min(h, w);
        float r = (float)(minDim * rng.Uniform(cls.MinSize, cls.MaxSize));
        float cx = rng.Uniform(0.1 * w, 0.9 * w), cy = rng.Uniform(0.1 * h, 0.9 * h);
        float theta = rng.Uniform(0, Math.PI);
        float aspect = rng.Uniform(0.5, 1.0);
        float jitter = 0.08f;
        float cr = cls.R + rng.Uniform(-jitter, jitter), cg = cls.G + rng.Uniform(-jitter, jitter), cb = cls.B + rng.Uniform(-jitter, jitter);
        bool band = rng.Chance(BandProbability);
        uint key = rng.NextUInt();
        float cos = MathF.Cos(theta), sin = MathF.Sin(theta);

        float extent = r * 2.1f + 2;
        int x0 = Math.Max(0, (int)(cx - extent)), x1 = Math.Min(w - 1, (int)(cx + extent));
        int y0 = Math.Max(0, (int)(cy - extent)), y1 = Math.Min(h - 1, (int)(cy + extent));
        float period = cls.Period;
        for (int y = y0; y <= y1; y++)
        {
            for (int x = x0; x <= x1; x++)
            {
                float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
                // object-local coordinates: shapes and textures rotate with the object
                float u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
                float sd = SignedDistance(cls.Shape, u, v, r, aspect);
                int p = y * w + x;
                if (sd < 0)
                {
                    float shade = Texture(cls.Texture, u, v, period, key, x, y);
                    image[p] = cr * shade;
                    image[plane + p] = cg * shade;
                    image[2 * plane + p] = cb * shade;
                    label[p] = (byte)cls.Id;
                }
                if (band && MathF.Abs(sd) < BandHalfWidth)
                    label[p] = SegmentationSample.IgnoreLabel;
            }
        }
    }

    /// <summary>Negative inside the shape; approximately the Euclidean distance to its edge in pixels.</summary>
    private static float SignedDistance(SceneShape shape, float u, float v, float r, float aspect)
    {
        switch (shape)
        {
            case SceneShape.Disc:
                return MathF.Sqrt(u * u + v * v) - r;
            case SceneShape.Rectangle:
                return MathF.Max(MathF.Abs(u) - r, MathF.Abs(v) - r * aspect);
            default:
                // equilateral triangle with circumradius 1.4 r: max over the three edge half-planes,
                // edge normals at 90°, 210°, 330°, inradius 0.7 r
                const float s = 0.8660254f; // sin 60°
                float a = v, b = -s * u - 0.5f * v, c = s * u - 0.5f * v;
                return MathF.Max(a, MathF.Max(b, c)) - 0.7f * r;
        }
    }

    /// <summary>Multiplicative shade of the object's colour at local coordinates (u, v).</summary>
    private static float Texture(SceneTexture texture, float u, float v, float period, uint key, int x, int y)
    {
        switch (texture)
        {
            case SceneTexture.Solid:
                return 1f;
            case SceneTexture.Checker:
                return (((int)MathF.Floor(u / period) + (int)MathF.Floor(v / period)) & 1) == 0 ? 1f : 0.4f;
            case SceneTexture.Stripes:
                return ((int)MathF.Floor(u / period) & 1) == 0 ? 1f : 0.4f;
            default:
                return 0.75f + 0.35f * SplitMixRandom.PixelNoise(key, x, y);
        }
    }

    /// <summary>An unlabelled region: the image is left as painted, the label says "ignore".</summary>
    private static void PaintIgnoreBlob(ref SplitMixRandom rng, byte[] label, int h, int w)
    {
        int minDim = Math.Min(h, w);
        float r = (float)(minDim * rng.Uniform(0.05, 0.1));
        float cx = rng.Uniform(0, w), cy = rng.Uniform(0, h);
        int x0 = Math.Max(0, (int)(cx - r)), x1 = Math.Min(w - 1, (int)(cx + r));
        int y0 = Math.Max(0, (int)(cy - r)), y1 = Math.Min(h - 1, (int)(cy + r));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
                if (dx * dx + dy * dy < r * r)
                    label[y * w + x] = SegmentationSample.IgnoreLabel;
            }
    }
}
