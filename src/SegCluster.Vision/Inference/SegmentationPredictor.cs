using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Inference;

/// <summary>
/// Full-resolution class probabilities from a network, as mmsegmentation's whole / slide inference and
/// aug_test do: windows of <see cref="InferenceOptions.Crop"/> every <see cref="InferenceOptions.Stride"/>
/// (the last window in each row and column is aligned to the image edge), each window's softmax added to
/// its pixels and divided by how many windows covered them; then averaged over scales and the flip.
/// Inputs whose sides are not multiples of the network's output stride are zero-padded bottom/right to the
/// next multiple (never further: a crop must fit in that) and the padding is cut from the output.
/// </summary>
public sealed class SegmentationPredictor
{
    private readonly Func<Tensor, Tensor> _logits;
    private readonly int _outputStride;
    private readonly InferenceOptions _options;

    /// <param name="logits">(B, 3, h, w) → (B, K, h, w) logits at the input resolution, h and w multiples of <paramref name="outputStride"/>.</param>
    public SegmentationPredictor(Func<Tensor, Tensor> logits, int outputStride, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputStride, 1);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        if (options.Crop is { } crop && (crop.Height % outputStride != 0 || crop.Width % outputStride != 0))
            throw new ArgumentException($"crop: {crop.Height}x{crop.Width} must be a multiple of the network's output stride {outputStride}.", nameof(options));
        _logits = logits;
        _outputStride = outputStride;
        _options = options;
    }

    /// <summary>(B, K, H, W) probabilities for (B, 3, H, W) images. Call under no_grad in eval mode.</summary>
    /// <exception cref="ArgumentException">The crop does not fit the image at one of the scales (named).</exception>
    public Tensor Probabilities(Tensor images)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be (B, 3, H, W); got [{string.Join(", ", images.shape)}].", nameof(images));
        long height = images.shape[2], width = images.shape[3];
        CheckFits(height, width);  // every scale before any compute
        using var scope = NewDisposeScope();
        Tensor? sum = null;  // (B, K, H, W), accumulated in place: one view's probabilities alive at a time
        int views = 0;
        foreach (var scale in _options.EffectiveScales)
            foreach (var flip in _options.Flip ? [false, true] : new[] { false })
            {
                using var viewScope = NewDisposeScope();
                var (scaledHeight, scaledWidth) = Scaled(height, width, scale);
                var scaled = scale == 1.0 ? images : Resize(images, scaledHeight, scaledWidth);
                var probabilities = Predict(flip ? scaled.flip(3) : scaled);
                if (flip) probabilities = probabilities.flip(3);
                if (scale != 1.0) probabilities = Resize(probabilities, height, width);
                if (sum is null) sum = probabilities.contiguous().MoveToOuterDisposeScope();
                else sum.add_(probabilities, KeptScalars.One);
                views++;
            }
        using var count = views.ToScalar();
        return sum!.div_(count).MoveToOuterDisposeScope();
    }

    private Tensor Predict(Tensor images) => _options.Crop is { } crop
        ? Slide(images, crop, _options.Stride ?? crop)
        : Whole(images);

    private Tensor Whole(Tensor images)
    {
        var (padded, height, width) = PadToStride(images);
        return _logits(padded).softmax(1).narrow(2, 0, height).narrow(3, 0, width);
    }

    /// <remarks>Each window's logits and softmax are freed once added into the sum (at 1024x2048 with flip and three
    /// scales, keeping them all would hold dozens of (B, K, crop) tensors).</remarks>
    private Tensor Slide(Tensor images, (int Height, int Width) crop, (int Height, int Width) stride)
    {
        var (padded, height, width) = PadToStride(images);
        long paddedHeight = padded.shape[2], paddedWidth = padded.shape[3];
        Tensor? sum = null;  // (B, K, paddedHeight, paddedWidth)
        var covered = zeros([1, 1, paddedHeight, paddedWidth], device: images.device);
        foreach (var top in Starts(paddedHeight, crop.Height, stride.Height))
            foreach (var left in Starts(paddedWidth, crop.Width, stride.Width))
            {
                using var windowScope = NewDisposeScope();
                var window = padded.narrow(2, top, crop.Height).narrow(3, left, crop.Width);
                var probabilities = _logits(window).softmax(1);
                sum ??= zeros([images.shape[0], probabilities.shape[1], paddedHeight, paddedWidth], device: images.device).MoveToOuterDisposeScope();
                sum.narrow(2, top, crop.Height).narrow(3, left, crop.Width).add_(probabilities, KeptScalars.One);
                covered.narrow(2, top, crop.Height).narrow(3, left, crop.Width).add_(KeptScalars.One, KeptScalars.One);
            }
        return sum!.div_(covered).narrow(2, 0, height).narrow(3, 0, width);
    }

    /// <summary>Throws when the sliding-window crop is larger than an image of this size, resized to any of the
    /// scales and padded to the output stride, allows; callers check their inputs up front with it, before any compute.</summary>
    /// <exception cref="ArgumentException">Names the crop field, the scale and the largest crop that fits.</exception>
    public void CheckFits(long height, long width)
    {
        if (_options.Crop is not { } crop) return;
        foreach (var scale in _options.EffectiveScales)
        {
            var (scaledHeight, scaledWidth) = Scaled(height, width, scale);
            long paddedHeight = RoundUp(scaledHeight), paddedWidth = RoundUp(scaledWidth);
            if (crop.Height > paddedHeight || crop.Width > paddedWidth)
                throw new ArgumentException(
                    $"crop: {crop.Height}x{crop.Width} is larger than the image {height}x{width} allows at scale {scale} " +
                    $"({scaledHeight}x{scaledWidth}, padded to the output stride {_outputStride}: {paddedHeight}x{paddedWidth}); " +
                    "use a crop of at most that size, larger scales, or whole-image inference.");
        }
    }

    /// <summary>The size of the image resized to <paramref name="scale"/> (multi-scale slides windows over it).</summary>
    private static (long Height, long Width) Scaled(long height, long width, double scale) =>
        (Math.Max(1, (long)Math.Round(height * scale)), Math.Max(1, (long)Math.Round(width * scale)));

    /// <summary>Window origins along one side: every <paramref name="stride"/>, the last one flush with the edge.</summary>
    internal static IEnumerable<long> Starts(long side, int crop, int stride)
    {
        long windows = Math.Max(side - crop + stride - 1, 0) / stride + 1;
        for (long i = 0; i < windows; i++)
            yield return Math.Max(Math.Min(i * stride + crop, side) - crop, 0);
    }

    /// <summary>Zero-pads bottom/right to the next multiple of the output stride (never further).</summary>
    private (Tensor Padded, long Height, long Width) PadToStride(Tensor images)
    {
        long height = images.shape[2], width = images.shape[3];
        long targetHeight = RoundUp(height), targetWidth = RoundUp(width);
        var padded = targetHeight == height && targetWidth == width
            ? images
            : nn.functional.pad(images, [0, targetWidth - width, 0, targetHeight - height]);
        return (padded, height, width);
    }

    private long RoundUp(long side) => (side + _outputStride - 1) / _outputStride * _outputStride;

    private static Tensor Resize(Tensor x, long height, long width) =>
        nn.functional.interpolate(x, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
}
