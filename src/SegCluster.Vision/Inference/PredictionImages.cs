using SegCluster.Vision.Data.Files;
using SegCluster.Vision.IO;
using SkiaSharp;

namespace SegCluster.Vision.Inference;

/// <summary>
/// Writes a predicted label map as PNG files: grey label images (one byte per pixel: train ids, or Cityscapes label
/// ids for its evaluation server), colour-palette images, and overlays of the colours on the input image. Each file
/// is written to a temporary name and renamed (<see cref="DurableFile"/>, without its flushes), so a reader never sees half an image.
/// </summary>
public static class PredictionImages
{
    /// <summary>Opacity of the class colours over the image in an overlay.</summary>
    public const double OverlayAlpha = 0.5;

    /// <summary>Grey 8-bit PNG whose pixel values are <paramref name="labels"/> (row-major, H×W).</summary>
    public static void WriteLabels(string path, byte[] labels, int height, int width)
    {
        CheckSize(labels.Length, height, width);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        labels.AsSpan().CopyTo(bitmap.GetPixelSpan());
        Save(path, bitmap);
    }

    /// <summary>RGB PNG with each pixel in its class's colour.</summary>
    public static void WriteColours(string path, byte[] labels, int height, int width, ClassPalette palette)
    {
        CheckSize(labels.Length, height, width);
        Save(path, Blend(null, labels, height, width, palette, alpha: 1.0));
    }

    /// <summary>RGB PNG: the image (<paramref name="rgb"/>, HWC bytes) with the class colours blended over it at <see cref="OverlayAlpha"/>.</summary>
    public static void WriteOverlay(string path, byte[] rgb, byte[] labels, int height, int width, ClassPalette palette)
    {
        CheckSize(labels.Length, height, width);
        if (rgb.Length != 3 * labels.Length) throw new ArgumentException($"rgb has {rgb.Length} bytes; a {height}x{width} image has {3 * labels.Length}.", nameof(rgb));
        Save(path, Blend(rgb, labels, height, width, palette, OverlayAlpha));
    }

    private static SKBitmap Blend(byte[]? rgb, byte[] labels, int height, int width, ClassPalette palette, double alpha)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (int p = 0; p < labels.Length; p++)
        {
            var (r, g, b) = palette.Colour(labels[p]);
            pixels[4 * p] = Mix(rgb?[3 * p], r, alpha);
            pixels[4 * p + 1] = Mix(rgb?[3 * p + 1], g, alpha);
            pixels[4 * p + 2] = Mix(rgb?[3 * p + 2], b, alpha);
            pixels[4 * p + 3] = 255;
        }
        return bitmap;
    }

    private static byte Mix(byte? under, byte colour, double alpha) =>
        under is { } u ? (byte)Math.Round(alpha * colour + (1 - alpha) * u) : colour;

    private static void CheckSize(int length, int height, int width)
    {
        if (length != height * width) throw new ArgumentException($"labels have {length} values; a {height}x{width} image has {height * width}.");
    }

    private static void Save(string path, SKBitmap bitmap)
    {
        using (bitmap)
        {
            using var image = SKImage.FromBitmap(bitmap);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new DatasetFileException(path, "could not be encoded as PNG.");
            DurableFile.Replace(path, file => file.Write(data.AsSpan()), durable: false);  // atomic; predictions can be made again
        }
    }
}
