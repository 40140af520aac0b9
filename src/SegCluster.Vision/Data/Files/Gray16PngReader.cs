using System.Buffers.Binary;
using System.IO.Compression;

namespace SegCluster.Vision.Data.Files;

/// <summary>
/// Reads 16-bit grey PNGs (colour type 0, bit depth 16: what cv2.imwrite writes for a uint16 label array), which Skia
/// decodes through 8 bits (keeping only the high byte). Non-interlaced only; the PNG filters of the spec (§9) are undone
/// here. Other 16-bit PNGs are refused, named: a mask is a grey image of class ids.
/// </summary>
public static class Gray16PngReader
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Bits per sample from a PNG's header (IHDR); 8 for any other file.</summary>
    public static int BitDepth(ReadOnlySpan<byte> file) => IsPng(file) ? file[24] : 8;

    /// <summary>A PNG signature followed by its header chunk (IHDR), long enough to hold the depth and colour type.</summary>
    private static bool IsPng(ReadOnlySpan<byte> file) =>
        file.Length >= 26 && file[..8].SequenceEqual(Signature) && BinaryPrimitives.ReadUInt32BigEndian(file[12..]) == 0x49484452;

    /// <summary>A PNG's colour type from its header (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA); -1 for any other file.</summary>
    public static int ColourType(ReadOnlySpan<byte> file) => IsPng(file) ? file[25] : -1;

    /// <summary>The samples, row-major, of the PNG <paramref name="bytes"/> read from <paramref name="path"/>.</summary>
    /// <exception cref="DatasetFileException">Not a non-interlaced 16-bit grey PNG, or its data is corrupt (named).</exception>
    public static (ushort[] Values, int Height, int Width) Read(byte[] bytes, string path)
    {
        int width = 0, height = 0;
        using var compressed = new MemoryStream();
        for (int at = 8; at + 12 <= bytes.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
            if (length < 0 || at + 12 + length > bytes.Length) throw new DatasetFileException(path, "a truncated PNG chunk.");
            var data = bytes.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                (width, height) = (BinaryPrimitives.ReadInt32BigEndian(data), BinaryPrimitives.ReadInt32BigEndian(data[4..]));
                if (data[9] != 0)
                    throw new DatasetFileException(path, $"a 16-bit PNG of colour type {data[9]}; a 16-bit mask must be grey (colour type 0) class ids.");
                if (data[12] != 0) throw new DatasetFileException(path, "an interlaced 16-bit PNG; write the mask without interlacing.");
            }
            else if (type == "IDAT") compressed.Write(data);
            else if (type == "IEND") break;
            at += 12 + length;
        }
        if (width <= 0 || height <= 0) throw new DatasetFileException(path, "a PNG without a valid header.");

        int stride = 2 * width;
        var raw = new byte[(long)height * (stride + 1)];
        try
        {
            compressed.Position = 0;
            using var inflate = new ZLibStream(compressed, CompressionMode.Decompress);
            inflate.ReadExactly(raw);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DatasetFileException(path, $"image data is corrupt or truncated ({e.Message}).", e);
        }

        var values = new ushort[height * width];
        var previous = new byte[stride];
        var row = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            var line = raw.AsSpan(y * (stride + 1), stride + 1);
            Unfilter(path, line[0], line[1..], previous, row);
            for (int x = 0; x < width; x++) values[y * width + x] = BinaryPrimitives.ReadUInt16BigEndian(row.AsSpan(2 * x));
            (previous, row) = (row, previous);
        }
        return (values, height, width);
    }

    /// <summary>PNG filter types 0–4 with 2 bytes per pixel (PNG spec §9.2).</summary>
    private static void Unfilter(string path, byte filter, ReadOnlySpan<byte> line, byte[] previous, byte[] row)
    {
        const int bpp = 2;
        for (int i = 0; i < line.Length; i++)
        {
            int left = i >= bpp ? row[i - bpp] : 0, up = previous[i], upLeft = i >= bpp ? previous[i - bpp] : 0;
            row[i] = (byte)(line[i] + filter switch
            {
                0 => 0,
                1 => left,
                2 => up,
                3 => (left + up) / 2,
                4 => Paeth(left, up, upLeft),
                _ => throw new DatasetFileException(path, $"unknown PNG filter type {filter}."),
            });
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
