using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Data;

/// <summary>
/// A collated batch on a device. Owns its tensors (images, labels and, when a sample is padded, the content mask; detached from any dispose scope the caller
/// has open) and disposes them in <see cref="Dispose"/>.
/// </summary>
public sealed class SegmentationBatch : IDisposable
{
    // Each sample's content height and width; null when no sample is padded. The mask is built from them on the batch's
    // device when a criterion asks for it (only image-dependent regularisers do), not on the host for every batch.
    private readonly long[]? _contentHeights, _contentWidths;
    private Tensor? _content;

    private SegmentationBatch(Tensor images, Tensor labels, long[]? contentHeights, long[]? contentWidths, int count)
    {
        Images = images;
        Labels = labels;
        _contentHeights = contentHeights;
        _contentWidths = contentWidths;
        Count = count;
    }

    /// <summary>(B, 3, H, W) float32.</summary>
    public Tensor Images { get; }

    /// <summary>(B, H, W) int64; 255 = ignore.</summary>
    public Tensor Labels { get; }

    /// <summary>(B, 1, H, W) float32, 1 on image content and 0 on crop padding (<see cref="SegmentationSample.Content"/>);
    /// null when no sample of the batch is padded.</summary>
    public Tensor? Content => _content ??= ContentMask();

    /// <summary>B.</summary>
    public int Count { get; }

    /// <summary>Stacks samples of one size into a batch on <paramref name="device"/>.</summary>
    public static SegmentationBatch Collate(IReadOnlyList<SegmentationSample> samples, Device device) =>
        FromHost(HostBatch.Collate(samples), device);

    /// <summary>The batch on <paramref name="device"/>. The tensors are views of the host arrays (no copy), so on the CPU
    /// the images are used where they lie (the batch keeps the arrays alive); other devices get one upload each, the
    /// labels as bytes, widened to int64 there.</summary>
    public static SegmentationBatch FromHost(HostBatch host, Device device)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(device);
        using var scope = NewDisposeScope();
        int b = host.Count, h = host.Height, w = host.Width;
        var imageTensor = frombuffer(host.Images, ScalarType.Float32).view(b, 3, h, w).to(device);  // (B, 3, H, W)
        var labelTensor = frombuffer(host.Labels, ScalarType.Byte).view(b, h, w).to(device).to(ScalarType.Int64);  // (B, H, W)
        return new SegmentationBatch(imageTensor.DetachFromDisposeScope(), labelTensor.DetachFromDisposeScope(), host.ContentHeights, host.ContentWidths, b);
    }

    /// <summary>(B, 1, H, W): row &lt; content height and column &lt; content width of each sample.</summary>
    private Tensor? ContentMask()
    {
        if (_contentHeights is null || _contentWidths is null) return null;
        using var scope = NewDisposeScope();
        var device = Images.device;
        using var height = Images.shape[2].ToScalar();  // held for the native calls (see KeptScalars)
        using var width = Images.shape[3].ToScalar();
        var rows = arange(KeptScalars.Zero, height, KeptScalars.One, ScalarType.Int64, device).view(1, 1, -1, 1);
        var columns = arange(KeptScalars.Zero, width, KeptScalars.One, ScalarType.Int64, device).view(1, 1, 1, -1);
        var inside = rows.lt(tensor(_contentHeights, device: device).view(-1, 1, 1, 1))
            .logical_and(columns.lt(tensor(_contentWidths, device: device).view(-1, 1, 1, 1)));
        return inside.to(ScalarType.Float32).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _content?.Dispose();  // only a mask that was built (building one now would read the disposed images)
        Images.Dispose();
        Labels.Dispose();
    }
}
