namespace SegCluster.Vision.Data;

internal enum SceneShape { Disc, Rectangle, Triangle }

internal enum SceneTexture { Solid, Checker, Stripes, Noise }

/// <summary>
/// Appearance of one foreground class of the synthetic scenes. Depends on the class id only (never
/// on the seed), so a validation seed draws new scenes of the same task. Colours are shared by pairs
/// of classes ((c-1)/2 mod 3) while shape ((c-1) mod 3) and texture ((c-1) mod 4) vary, so colour
/// alone cannot separate classes: the network has to use texture and shape.
/// </summary>
internal sealed record SceneClass(int Id, SceneShape Shape, SceneTexture Texture, float R, float G, float B,
    int Period, double Presence, double MinSize, double MaxSize)
{
    private static readonly (string Name, float R, float G, float B)[] Palette =
    [
        ("red", 0.85f, 0.30f, 0.25f),
        ("blue", 0.25f, 0.50f, 0.85f),
        ("green", 0.35f, 0.80f, 0.35f),
    ];

    /// <summary>Probability that a common class is present in an image.</summary>
    public const double CommonPresence = 0.55;

    /// <summary>The rare class (the last one, when K >= 3) is present in this fraction of images, at a smaller size.</summary>
    public const double RarePresence = 0.12;

    public string Name => $"{Palette[ColourIndex(Id)].Name}-{Shape}-{Texture}".ToLowerInvariant();

    public static SceneClass For(int id, int numClasses)
    {
        if (id < 1) throw new ArgumentOutOfRangeException(nameof(id), "class 0 is the background");
        var colour = Palette[ColourIndex(id)];
        var rare = numClasses >= 3 && id == numClasses - 1;
        // Beyond 12 classes the (shape, texture) pairs repeat: they then differ by texture period.
        var period = 4 + 2 * (((id - 1) / 12) % 3);
        return new SceneClass(id, (SceneShape)((id - 1) % 3), (SceneTexture)((id - 1) % 4),
            colour.R, colour.G, colour.B, period,
            rare ? RarePresence : CommonPresence,
            rare ? 0.07 : 0.12, rare ? 0.12 : 0.25);
    }

    private static int ColourIndex(int id) => ((id - 1) / 2) % 3;
}
