using System.Globalization;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cli.Commands;

/// <summary>Parses "HxW" or "S" image sizes from the command line.</summary>
public static class ImageSize
{
    /// <summary>The largest side an option takes, as for a spec's dataset sides.</summary>
    public const int MaxSide = DatasetSpec.MaxSide;

    public static bool TryParse(string? text, out int height, out int width, out string error, string option = "--image-size")
    {
        height = width = 0;
        error = $"{option} '{text}' is not a size; use HxW (e.g. 64x128) or S (e.g. 64).";
        if (string.IsNullOrWhiteSpace(text)) return false;
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is < 1 or > 2) return false;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out height)) return false;
        width = height;
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out width)) return false;
        error = "";
        return true;
    }

    /// <summary><see cref="TryParse"/>, and each side at least <paramref name="multiple"/> (and 1), at most
    /// <see cref="MaxSide"/>, and a multiple of <paramref name="multiple"/>; <paramref name="error"/> names the option.</summary>
    /// <param name="multiple">16 for the sizes of images a network sees (its output stride); 1 for any side.</param>
    public static bool TryParseBounded(string? text, out int height, out int width, out string error, string option, int multiple = 1)
    {
        if (!TryParse(text, out height, out width, out error, option)) return false;
        var least = Math.Max(1, multiple);
        if (Fits(height) && Fits(width)) return true;
        error = multiple <= 1
            ? $"{option} '{text}': each side must be at least 1 and at most {MaxSide}."
            : $"{option} '{text}': each side must be a multiple of {multiple} from {multiple} to {MaxSide} (nearest: {Nearest(height)}x{Nearest(width)}).";
        return false;

        bool Fits(int side) => side >= least && side <= MaxSide && side % least == 0;
        int Nearest(int side) => DatasetSpec.NearestSide(side, least);
    }
}
