using System.Globalization;

namespace SegCluster.Cli.Commands;

/// <summary>Parses "HxW" or "S" image sizes from the command line.</summary>
public static class ImageSize
{
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
}
