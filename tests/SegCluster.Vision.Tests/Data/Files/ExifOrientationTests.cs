using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>
/// A phone photo stores its sensor rows and records the rotation in EXIF; labelling tools draw the mask on the
/// displayed image, as OpenCV's imread (mmsegmentation) shows it. Decoded as stored, a rotated photo's mask was another
/// size (refused) or, square, silently misaligned.
/// </summary>
public sealed class ExifOrientationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-exif-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1, 16, 32, "red", "blue")]    // as stored: left half red
    [InlineData(6, 32, 16, "red", "blue")]    // displayed 90° clockwise: the stored left half is the top
    [InlineData(8, 32, 16, "blue", "red")]    // 90° anticlockwise: the stored right half is the top
    [InlineData(3, 16, 32, "blue", "red")]    // 180°: the stored right half is on the left
    public void Images_decode_as_displayed(int orientation, int height, int width, string first, string last)
    {
        const int h = 16, w = 32;  // stored: left half red, right half blue
        var rgb = new byte[h * w * 3];
        for (int p = 0; p < h * w; p++) (rgb[3 * p], rgb[3 * p + 2]) = p % w < w / 2 ? ((byte)255, (byte)0) : ((byte)0, (byte)255);
        var path = Path.Combine(_dir, $"photo-{orientation}.jpg");
        ImageFileWriter.Rgb(path, rgb, h, w);
        WithOrientation(path, orientation);

        var (decoded, dh, dw) = ImageDecoder.DecodeRgb(path);

        Assert.Equal((height, width), (dh, dw));
        Assert.Equal((height, width), ImageDecoder.ReadSize(path));
        Assert.Equal(first, Colour(decoded, 0));                      // the first pixel
        Assert.Equal(last, Colour(decoded, dh * dw - 1));             // the last pixel
    }

    /// <summary>Masks are read as stored, as mmsegmentation reads them ("unchanged"): a mask carrying the photo's EXIF
    /// block must not be turned a second time.</summary>
    [Fact]
    public void Masks_are_read_as_stored_whatever_their_exif_says()
    {
        const int h = 16, w = 32;
        var jpeg = Path.Combine(_dir, "mask-exif.jpg");
        ImageFileWriter.Rgb(jpeg, new byte[h * w * 3], h, w);
        WithOrientation(jpeg, 6);

        var (_, mh, mw) = ImageDecoder.DecodeMask(jpeg, MaskEncoding.Gray);

        Assert.Equal((h, w), (mh, mw));
    }

    private static string Colour(byte[] rgb, int pixel) => rgb[3 * pixel] > rgb[3 * pixel + 2] ? "red" : "blue";

    /// <summary>Inserts an EXIF block (APP1) with only the Orientation tag after the JPEG's start marker.</summary>
    private static void WithOrientation(string path, int orientation)
    {
        var jpeg = File.ReadAllBytes(path);
        byte[] tiff = [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,   // little-endian TIFF header, IFD at 8
                       0x01, 0x00,                                       // one entry
                       0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,   // tag 0x0112 Orientation, SHORT, count 1
                       (byte)orientation, 0x00, 0x00, 0x00,
                       0x00, 0x00, 0x00, 0x00];                          // no next IFD
        byte[] exif = [.. "Exif\0\0"u8, .. tiff];
        var length = exif.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exif];
        File.WriteAllBytes(path, [.. jpeg[..2], .. app1, .. jpeg[2..]]);
    }
}
