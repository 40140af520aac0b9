namespace SegCluster.Vision.Data.Files;

/// <summary>
/// A decoded sample before augmentation: 8-bit RGB interleaved (HWC) and the label map already in train ids
/// (255 = ignore). This is what the sample cache holds: decoding is the expensive part, augmentation is per epoch.
/// </summary>
public sealed record DecodedSample(byte[] Rgb, byte[] Label, int Height, int Width)
{
    /// <summary>Bytes the two arrays hold (the cache's unit of account).</summary>
    public long Bytes => Rgb.LongLength + Label.LongLength;
}
