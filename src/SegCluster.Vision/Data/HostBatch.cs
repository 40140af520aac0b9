namespace SegCluster.Vision.Data;

/// <summary>
/// Samples of one size stacked in host memory, ready for <see cref="SegmentationBatch.FromHost"/>: the copying half of
/// collation, which the data loader's background thread does (as a PyTorch DataLoader's workers collate), so the
/// training thread only hands the arrays to the device. Labels stay bytes until they are on the device: an int64 upload
/// would move eight times the bytes.
/// </summary>
public sealed class HostBatch
{
    private HostBatch(float[] images, byte[] labels, int count, int height, int width, long[]? contentHeights, long[]? contentWidths)
    {
        Images = images;
        Labels = labels;
        Count = count;
        Height = height;
        Width = width;
        ContentHeights = contentHeights;
        ContentWidths = contentWidths;
    }

    /// <summary>(B, 3, H, W) float32, row-major.</summary>
    public float[] Images { get; }

    /// <summary>(B, H, W); 255 = ignore.</summary>
    public byte[] Labels { get; }

    public int Count { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Each sample's content height and width (<see cref="SegmentationSample.Content"/>); null when no sample is padded.</summary>
    public long[]? ContentHeights { get; }
    public long[]? ContentWidths { get; }

    public static HostBatch Collate(IReadOnlyList<SegmentationSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
            throw new ArgumentException("cannot collate an empty list of samples", nameof(samples));
        int h = samples[0].Height, w = samples[0].Width, plane = h * w, b = samples.Count;
        var images = new float[b * 3 * plane];
        var labels = new byte[b * plane];
        for (int i = 0; i < b; i++)
        {
            var s = samples[i];
            if (s.Height != h || s.Width != w)
                throw new ArgumentException($"sample {i} is {s.Height}x{s.Width} but sample 0 is {h}x{w}: a batch needs one size", nameof(samples));
            s.Image.AsSpan().CopyTo(images.AsSpan(i * 3 * plane, 3 * plane));
            s.Label.AsSpan().CopyTo(labels.AsSpan(i * plane, plane));
        }
        var padded = samples.Any(s => s.Content is not null);
        return new HostBatch(images, labels, b, h, w,
            padded ? [.. samples.Select(s => (long)(s.Content?.Height ?? h))] : null,
            padded ? [.. samples.Select(s => (long)(s.Content?.Width ?? w))] : null);
    }
}
