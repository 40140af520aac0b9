using SkiaSharp;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>A generic-folder dataset of 16×16 PNGs (3 classes: left third 0, middle 1, right 2) with train and val splits.</summary>
internal static class TinyFolderDataset
{
    public const int Side = 16;

    /// <param name="editTrainMask">Changes each train mask (row-major bytes) before it is written.</param>
    public static void Write(string root, int train, int val, Action<Span<byte>>? editTrainMask = null)
    {
        File.WriteAllText(Path.Combine(root, "classes.json"), """["background", "left", "right"]""");
        foreach (var (split, n) in new[] { ("train", train), ("val", val) })
            for (int i = 0; i < n; i++)
            {
                using var image = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                using var mask = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Gray8, SKAlphaType.Opaque));
                for (int y = 0; y < Side; y++)
                    for (int x = 0; x < Side; x++)
                    {
                        var cls = x * 3 / Side;
                        image.SetPixel(x, y, new SKColor((byte)(40 + 80 * cls), (byte)(10 * i), (byte)(200 - 60 * cls)));
                        mask.GetPixelSpan()[y * Side + x] = (byte)cls;
                    }
                if (split == "train") editTrainMask?.Invoke(mask.GetPixelSpan());
                Save(image, Path.Combine(root, "images", split, $"s{i}.png"));
                Save(mask, Path.Combine(root, "masks", split, $"s{i}.png"));
            }
    }

    /// <summary>Writes <paramref name="bitmap"/> as a PNG, creating its folder.</summary>
    public static void Save(SKBitmap bitmap, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
