using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Data;

/// <summary>
/// A collated batch on a device. Owns its two tensors (detached from any dispose scope the caller
/// has open) and disposes them in <see cref="Dispose"/>.
/// </summary>
public sealed class SegmentationBatch : IDisposable
{
    private SegmentationBatch(Tensor images, Tensor labels, Tensor? content, int count)
    {
        Images = images;
        Labels = labels;
        Content = content;
        Count = count;
    }

    /// <summary>(B, 3, H, W) float32.</summary>
    public Tensor Images { get; }

    /// <summary>(B, H, W) int64; 255 = ignore.</summary>
    public Tensor Labels { get; }

    /// <summary>(B, 1, H, W) float32, 1 on image content and 0 on crop padding (<see cref="SegmentationSample.Content"/>);
    /// null when no sample of the batch is padded.</summary>
    public Tensor? Content { get; }

    /// <summary>B.</summary>
    public int Count { get; }

    /// <summary>Stacks samples of one size into a batch on <paramref name="device"/>.</summary>
    public static SegmentationBatch Collate(IReadOnlyList<SegmentationSample> samples, Device device)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(device);
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

        using var scope = NewDisposeScope();
        var imageTensor = tensor(images, [b, 3, h, w], ScalarType.Float32).to(device);    // (B, 3, H, W)
        var labelTensor = tensor(labels, [b, h, w]).to(ScalarType.Int64).to(device);  // (B, H, W)
        var contentTensor = ContentMask(samples, h, w)?.to(device);                     // (B, 1, H, W) or null
        return new SegmentationBatch(imageTensor.DetachFromDisposeScope(), labelTensor.DetachFromDisposeScope(), contentTensor?.DetachFromDisposeScope(), b);
    }

    private static Tensor? ContentMask(IReadOnlyList<SegmentationSample> samples, int h, int w)
    {
        if (samples.All(s => s.Content is null)) return null;
        var mask = new float[samples.Count * h * w];
        for (int i = 0; i < samples.Count; i++)
        {
            var (contentH, contentW) = samples[i].Content ?? (h, w);
            for (int y = 0; y < contentH; y++) mask.AsSpan(i * h * w + y * w, contentW).Fill(1f);
        }
        return tensor(mask, [samples.Count, 1, h, w], ScalarType.Float32);
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Content?.Dispose();
    }
}
