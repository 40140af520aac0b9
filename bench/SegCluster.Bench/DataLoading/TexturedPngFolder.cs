using SegCluster.Vision.Data.Files;
using SkiaSharp;

namespace SegCluster.Bench.DataLoading;

/// <summary>A folder dataset (images/, masks/, classes.json) of noise-textured RGB PNGs, so decoding costs what real
/// photos cost, and 4-class masks of vertical bands.</summary>
internal static class TexturedPngFolder
{
    public static FileSegmentationDataset Write(string root, int count, int h, int w)
    {
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "masks"));
        File.WriteAllText(Path.Combine(root, "classes.json"), """["a", "b", "c", "d"]""");
        var rng = new Random(3);
        for (int i = 0; i < count; i++)
        {
            using var image = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            var rgba = image.GetPixelSpan();
            rng.NextBytes(rgba);
            for (int p = 3; p < rgba.Length; p += 4) rgba[p] = 255;  // opaque
            using var mask = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
            var labels = mask.GetPixelSpan();
            for (int p = 0; p < labels.Length; p++) labels[p] = (byte)(p % w * 4 / w);
            SavePng(Path.Combine(root, "images", $"{i:D3}.png"), image);
            SavePng(Path.Combine(root, "masks", $"{i:D3}.png"), mask);
        }
        return new FileSegmentationDataset(DatasetLayoutDetector.Open(root), FolderDatasetReader.DefaultSplit);
    }

    private static void SavePng(string path, SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
