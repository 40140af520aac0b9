namespace SegCluster.Vision.Data.Files;

/// <summary>Per-channel normalisation of 8-bit RGB with the ImageNet statistics every pretrained backbone expects.</summary>
public static class ImageNormalization
{
    public static ReadOnlySpan<float> Mean => [0.485f, 0.456f, 0.406f];
    public static ReadOnlySpan<float> Std => [0.229f, 0.224f, 0.225f];

    /// <summary>RGB bytes (HWC) → normalised floats (CHW), label copied as is.</summary>
    public static SegmentationSample ToSample(DecodedSample sample)
    {
        int plane = sample.Height * sample.Width;
        var image = new float[3 * plane];
        for (int c = 0; c < 3; c++)
        {
            float scale = 1f / (255f * Std[c]), offset = Mean[c] / Std[c];
            for (int p = 0; p < plane; p++)
                image[c * plane + p] = sample.Rgb[3 * p + c] * scale - offset;
        }
        return new SegmentationSample(image, (byte[])sample.Label.Clone(), sample.Height, sample.Width);
    }
}
