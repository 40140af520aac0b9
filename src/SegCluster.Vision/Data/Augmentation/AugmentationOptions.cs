namespace SegCluster.Vision.Data.Augmentation;

/// <summary>
/// Label-aware training augmentation (the mmsegmentation recipe: random resize with ratio range, random crop,
/// horizontal flip, photometric distortion). Output size is fixed so samples of any input size batch together.
/// </summary>
/// <param name="Height">Crop height (a multiple of 16, the networks' output stride).</param>
/// <param name="Width">Crop width.</param>
/// <param name="MinScale">Smallest random scale of the image relative to its size.</param>
/// <param name="MaxScale">Largest random scale.</param>
/// <param name="FlipProbability">Probability of a horizontal flip.</param>
/// <param name="Brightness">Brightness factor drawn from [1-b, 1+b].</param>
/// <param name="Contrast">Contrast factor drawn from [1-c, 1+c] (around mid grey).</param>
/// <param name="Saturation">Saturation factor drawn from [1-s, 1+s] (around the pixel's luma).</param>
/// <param name="SparseLabels">The labels are scribbles (PAPERS.md §5): 1-pixel strokes on ignore. Shrinking samples only
/// some source rows and columns, so nearest neighbour dropped a stroke with probability 1 − scale; a shrunk output pixel
/// whose nearest label is ignore takes a labelled pixel of its source cell instead.</param>
public sealed record AugmentationOptions(
    int Height,
    int Width,
    double MinScale = 0.5,
    double MaxScale = 2.0,
    double FlipProbability = 0.5,
    double Brightness = 0.2,
    double Contrast = 0.2,
    double Saturation = 0.2,
    bool SparseLabels = false)
{
    /// <summary>No randomness: scale 1, no flip, no jitter; crops at the top left and pads with ignore.</summary>
    public static AugmentationOptions None(int height, int width) => new(height, width, 1, 1, 0, 0, 0, 0);

    /// <summary>Throws <see cref="ArgumentException"/> naming the field and a valid value.</summary>
    public void Validate()
    {
        if (Height < 16 || Height % 16 != 0 || Width < 16 || Width % 16 != 0)
            throw new ArgumentException($"AugmentationOptions crop {Height}x{Width}: both sides must be positive multiples of 16 (the output stride).");
        if (!(MinScale > 0) || !(MaxScale >= MinScale))
            throw new ArgumentException($"AugmentationOptions scale range [{MinScale}, {MaxScale}] is invalid: use 0 < MinScale <= MaxScale (e.g. 0.5 to 2).");
        if (FlipProbability is < 0 or > 1)
            throw new ArgumentException($"AugmentationOptions.FlipProbability = {FlipProbability} must be in [0, 1].");
        if (Brightness is < 0 or >= 1 || Contrast is < 0 or >= 1 || Saturation is < 0 or >= 1)
            throw new ArgumentException($"AugmentationOptions jitter (brightness {Brightness}, contrast {Contrast}, saturation {Saturation}) must each be in [0, 1).");
    }
}
