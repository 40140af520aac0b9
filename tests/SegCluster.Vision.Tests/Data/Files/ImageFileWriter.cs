using System.Buffers.Binary;
using System.IO.Compression;
using SegCluster.Vision.Data.Files;
using SkiaSharp;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>Writes real image files the way the datasets ship them: RGB PNG/JPEG (SkiaSharp), grey PNG masks (SkiaSharp),
/// and PASCAL VOC palette PNGs (colour type 3 with the VOC palette, written here because Skia encodes no indexed PNG).</summary>
internal static class ImageFileWriter
{
    public static void Rgb(string path, byte[] rgb, int h, int w, int jpegQuality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int p = 0; p < h * w; p++)
            bitmap.SetPixel(p % w, p / w, new SKColor(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]));
        var format = path.EndsWith(".png", StringComparison.Ordinal) ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg;
        Save(path, bitmap, format, jpegQuality);
    }

    public static void Gray(string path, byte[] values, int h, int w)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        values.AsSpan().CopyTo(bitmap.GetPixelSpan());
        Save(path, bitmap, SKEncodedImageFormat.Png, 100);
    }

    public static void VocPalettePng(string path, byte[] indices, int h, int w)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, w);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), h);
        header[8] = 8;  // bit depth
        header[9] = 3;  // colour type: palette
        Chunk(file, "IHDR", header);
        var palette = new byte[256 * 3];
        for (int i = 0; i < 256; i++)
            (palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]) = VocPalette.Colour(i);
        Chunk(file, "PLTE", palette);
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < h; y++)
            {
                z.WriteByte(0);  // filter: none
                z.Write(indices, y * w, w);
            }
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    public static void Corrupt(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3, 4, 5]);
    }

    private static void Save(string path, SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type).CopyTo(typed, 0);
        data.CopyTo(typed, 4);
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(n, Crc32(typed));
        s.Write(n);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
