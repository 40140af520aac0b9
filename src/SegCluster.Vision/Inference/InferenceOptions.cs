namespace SegCluster.Vision.Inference;

/// <summary>
/// How full-resolution predictions are made (mmsegmentation's test_cfg): whole-image or sliding-window,
/// optionally over several scales and with a horizontal flip, probabilities averaged.
/// </summary>
/// <param name="Crop">Sliding-window crop (height, width); null = whole-image inference.</param>
/// <param name="Stride">Step between windows (height, width); each at least 1 and at most the crop.</param>
/// <param name="Scales">Image scale factors for multi-scale testing (1 = as is).</param>
/// <param name="Flip">Also predict on the horizontally flipped image and average.</param>
public sealed record InferenceOptions((int Height, int Width)? Crop = null, (int Height, int Width)? Stride = null,
    IReadOnlyList<double>? Scales = null, bool Flip = false)
{
    public static InferenceOptions Whole { get; } = new();

    public IReadOnlyList<double> EffectiveScales => Scales is { Count: > 0 } s ? s : [1.0];

    /// <summary>Errors naming the option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Crop is { } crop && (crop.Height < 1 || crop.Width < 1))
            errors.Add($"crop: {crop.Height}x{crop.Width} must be positive.");
        if (Stride is { } stride)
        {
            if (Crop is not { } c) errors.Add("stride: given without a crop; sliding-window inference needs both.");
            else if (stride.Height < 1 || stride.Width < 1 || stride.Height > c.Height || stride.Width > c.Width)
                errors.Add($"stride: {stride.Height}x{stride.Width} must be at least 1 and at most the crop {c.Height}x{c.Width} (windows must cover the image).");
        }
        foreach (var scale in EffectiveScales)
            if (!(scale is > 0 and <= 8)) errors.Add($"scales: {scale} must be in (0, 8].");
        return errors;
    }
}
