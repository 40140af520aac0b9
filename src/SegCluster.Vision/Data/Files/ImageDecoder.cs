using SkiaSharp;

namespace SegCluster.Vision.Data.Files;

/// <summary>
/// Decodes PNG/JPEG files with SkiaSharp (TorchSharp has no image I/O). Each file is read once, whole, with the retries
/// of <see cref="DatasetFileBytes"/>, then decoded from memory. Every failure is a <see cref="DatasetFileException"/>
/// naming the file.
/// </summary>
public static class ImageDecoder
{
    /// <summary>8-bit RGB, interleaved (HWC).</summary>
    public static (byte[] Rgb, int Height, int Width) DecodeRgb(string path)
    {
        var (rgba, h, w) = DecodeRgba(DatasetFileBytes.Read(path), path, upright: true);
        var rgb = new byte[h * w * 3];
        for (int p = 0, q = 0; p < rgba.Length; p += 4, q += 3)
        {
            rgb[q] = rgba[p];
            rgb[q + 1] = rgba[p + 1];
            rgb[q + 2] = rgba[p + 2];
        }
        return (rgb, h, w);
    }

    /// <summary>Raw mask ids, one byte per pixel, decoded as <paramref name="encoding"/> says (an XML scribble
    /// annotation is rasterised by <see cref="ScribbleSupAnnotation"/>).</summary>
    public static (byte[] Values, int Height, int Width) DecodeMask(string path, MaskEncoding encoding)
    {
        if (encoding == MaskEncoding.ScribbleSupXml) return ScribbleSupAnnotation.Rasterize(path);
        var file = DatasetFileBytes.Read(path);
        var depth = Gray16PngReader.BitDepth(file);
        if (depth < 8 && Gray16PngReader.ColourType(file) == 0)
            // Skia (libpng) scales low-bit grey to 0–255 (1 → 255 at 1 bit, k → 17k at 4): class 1 would come back as ignore.
            throw new DatasetFileException(path, $"a {depth}-bit grey PNG, whose values the decoder scales to 0-255 (1 becomes 255, the ignore label); " +
                                                 "save the mask as an 8-bit grey PNG of class ids (PIL: mask.convert('L')).");
        if (depth == 16)
        {
            if (encoding == MaskEncoding.VocPalette)
                throw new DatasetFileException(path, "a 16-bit PNG; PASCAL VOC palette masks are 8-bit indexed PNGs.");
            return DecodeMask16(file, path);
        }
        var (rgba, h, w) = DecodeRgba(file, path, upright: false);  // masks as stored, as mmsegmentation reads them ("unchanged")
        var values = new byte[h * w];
        for (int p = 0, q = 0; q < values.Length; p += 4, q++)
        {
            byte r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
            if (encoding == MaskEncoding.VocPalette)
            {
                if (!VocPalette.TryIndex(r, g, b, out values[q]))
                    throw new DatasetFileException(path, $"pixel ({q % w}, {q / w}) has colour ({r}, {g}, {b}), which is not in the PASCAL VOC palette.");
            }
            else
            {
                if (r != g || g != b)
                    throw new DatasetFileException(path, $"pixel ({q % w}, {q / w}) has colour ({r}, {g}, {b}); a mask must be a grey image of class ids.");
                values[q] = r;
            }
        }
        return (values, h, w);
    }

    /// <summary>
    /// A 16-bit grey mask (as cv2.imwrite writes a uint16 label array), read at 16 bits: Skia decodes it through 8 and
    /// keeps the high byte, which turned ids 0–255 into 0 without a word. Ids above 255 are refused: labels are bytes here.
    /// </summary>
    private static (byte[] Values, int Height, int Width) DecodeMask16(byte[] file, string path)
    {
        var (samples, h, w) = Gray16PngReader.Read(file, path);
        var values = new byte[h * w];
        for (int q = 0; q < values.Length; q++)
        {
            if (samples[q] > byte.MaxValue)
                throw new DatasetFileException(path, $"pixel ({q % w}, {q / w}) has id {samples[q]} (a 16-bit mask); class ids must be 0–255.");
            values[q] = (byte)samples[q];
        }
        return (values, h, w);
    }

    /// <summary>Height and width as displayed (EXIF orientation applied, as decoding does), from the file's header.</summary>
    public static (int Height, int Width) ReadSize(string path)
    {
        if (!File.Exists(path))
            throw new DatasetFileException(path, "file not found.");
        using var codec = SKCodec.Create(path, out var result)
            ?? throw new DatasetFileException(path, $"not a decodable image ({result}).");
        return codec.EncodedOrigin >= SKEncodedOrigin.LeftTop ? (codec.Info.Width, codec.Info.Height) : (codec.Info.Height, codec.Info.Width);
    }

    /// <param name="upright">Apply the file's EXIF orientation (images; <see cref="Upright"/>).</param>
    private static (byte[] Rgba, int Height, int Width) DecodeRgba(byte[] file, string path, bool upright)
    {
        // A codec takes ownership of its stream and frees it with itself; without one, disposing is safe either way
        // (SKObject disposal is idempotent, and SkiaSharp may already have freed it).
        var stream = new SKMemoryStream(file);
        using var codec = SKCodec.Create(stream, out var result);
        if (codec is null)
        {
            stream.Dispose();
            throw new DatasetFileException(path, $"not a decodable image ({result}).");
        }
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var status = codec.GetPixels(info, out var pixels);
        if (status != SKCodecResult.Success)
            throw new DatasetFileException(path, $"image data is corrupt or truncated ({status}).");
        return upright ? Upright(pixels, info.Height, info.Width, codec.EncodedOrigin) : (pixels, info.Height, info.Width);
    }

    /// <summary>
    /// The pixels as displayed: a camera stores its sensor rows and records the rotation in EXIF (Orientation), and
    /// labelling tools draw masks on the displayed image, as OpenCV's imread (mmsegmentation) and PIL's exif_transpose
    /// show it. Stored as they are, a rotated photo's mask was another size (refused) or, square, silently misaligned.
    /// </summary>
    private static (byte[] Rgba, int Height, int Width) Upright(byte[] rgba, int h, int w, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft) return (rgba, h, w);
        bool transposed = origin >= SKEncodedOrigin.LeftTop;
        int outH = transposed ? w : h, outW = transposed ? h : w;
        var upright = new byte[rgba.Length];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                var (ys, xs) = origin switch
                {
                    SKEncodedOrigin.TopRight => (y, w - 1 - x),             // mirrored
                    SKEncodedOrigin.BottomRight => (h - 1 - y, w - 1 - x),  // rotated 180°
                    SKEncodedOrigin.BottomLeft => (h - 1 - y, x),           // flipped
                    SKEncodedOrigin.LeftTop => (x, y),                      // transposed
                    SKEncodedOrigin.RightTop => (h - 1 - x, y),             // displayed rotated 90° clockwise
                    SKEncodedOrigin.RightBottom => (h - 1 - x, w - 1 - y),  // transverse
                    _ => (x, w - 1 - y),                                    // LeftBottom: 90° anticlockwise
                };
                Buffer.BlockCopy(rgba, 4 * (ys * w + xs), upright, 4 * (y * outW + x), 4);
            }
        return (upright, outH, outW);
    }
}
