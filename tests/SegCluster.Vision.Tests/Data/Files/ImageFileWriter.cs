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
        using var file = CreatePng(path, h, w, bitDepth: 8, colourType: 3);  // colour type 3: palette
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

    /// <summary>A 16-bit grey PNG (colour type 0, bit depth 16), as cv2.imwrite writes a uint16 label array; Skia
    /// encodes no 16-bit grey. Row y is filtered with PNG filter y mod 5 (none, sub, up, average, Paeth), as libpng's
    /// adaptive filtering mixes them.</summary>
    public static void Gray16Png(string path, ushort[] values, int h, int w)
    {
        using var file = CreatePng(path, h, w, bitDepth: 16, colourType: 0);  // colour type 0: grey
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var rows = new byte[h + 1, 2 * w];  // row 0: the zero row above the image
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    (rows[y + 1, 2 * x], rows[y + 1, 2 * x + 1]) = ((byte)(values[y * w + x] >> 8), (byte)values[y * w + x]);
            for (int y = 1; y <= h; y++)
            {
                int filter = (y - 1) % 5;
                z.WriteByte((byte)filter);
                for (int i = 0; i < 2 * w; i++)
                {
                    int a = i >= 2 ? rows[y, i - 2] : 0, b = rows[y - 1, i], c = i >= 2 ? rows[y - 1, i - 2] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    int predictor = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c };
                    z.WriteByte((byte)(rows[y, i] - predictor));
                }
            }
        }
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    /// <summary>A 1-bit grey PNG (colour type 0, bit depth 1), as PIL saves a mode '1' binary mask: 0/1 per pixel.</summary>
    public static void Gray1Png(string path, byte[] values, int h, int w)
    {
        using var file = CreatePng(path, h, w, bitDepth: 1, colourType: 0);
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < h; y++)
            {
                z.WriteByte(0);  // filter: none
                var row = new byte[(w + 7) / 8];
                for (int x = 0; x < w; x++) row[x / 8] |= (byte)((values[y * w + x] & 1) << (7 - x % 8));
                z.Write(row);
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

    /// <summary>A new PNG file with its signature and header (IHDR) written; chunks follow.</summary>
    private static FileStream CreatePng(string path, int h, int w, byte bitDepth, byte colourType)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, w);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), h);
        (header[8], header[9]) = (bitDepth, colourType);
        Chunk(file, "IHDR", header);
        return file;
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
