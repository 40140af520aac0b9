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
}
