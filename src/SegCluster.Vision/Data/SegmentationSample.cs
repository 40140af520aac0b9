namespace SegCluster.Vision.Data;

/// <summary>
/// One image and its label map, as plain arrays so samples can be cached and shipped without tensors.
/// </summary>
/// <param name="Image">3*H*W floats, channel-major (CHW), normalised to roughly zero mean and unit variance.</param>
/// <param name="Label">H*W class ids; 255 = ignore.</param>
/// <param name="Height">H.</param>
/// <param name="Width">W.</param>
public sealed record SegmentationSample(float[] Image, byte[] Label, int Height, int Width)
{
    /// <summary>The label value that losses and metrics skip.</summary>
    public const byte IgnoreLabel = 255;

    /// <summary>The top-left region holding image content when a training crop was padded past the scaled image (the
    /// rest is image 0 and label ignore); null when every pixel is content. Image-dependent regularisers skip the padding.</summary>
    public (int Height, int Width)? Content { get; init; }
}
