namespace SegCluster.Vision.Data;

/// <summary>
/// Options of the synthetic scene dataset. A validation set is the same options with another Seed:
/// class appearance depends only on the class id, never on the seed.
/// </summary>
/// <param name="NumClasses">K, including class 0 = background. In [2, 32].</param>
/// <param name="Height">Image height; a multiple of 16, the networks' output stride.</param>
/// <param name="Width">Image width; a multiple of 16.</param>
/// <param name="Count">Number of samples.</param>
/// <param name="Seed">Samples are a pure function of (Seed, index).</param>
public sealed record SyntheticSceneOptions(int NumClasses = 6, int Height = 64, int Width = 64, int Count = 256, int Seed = 0)
{
    /// <summary>The largest output stride of the models in this library; image sizes must be multiples of it.</summary>
    public const int OutputStride = 16;

    /// <summary>The most classes the scenes draw (class 0, the background, included).</summary>
    public const int MaxClasses = 32;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field and a valid value.</summary>
    public void Validate()
    {
        if (NumClasses is < 2 or > MaxClasses)
            throw new ArgumentException(
                $"SyntheticSceneOptions.NumClasses = {NumClasses} is out of range: it must be in [2, {MaxClasses}] (class 0 is the background).",
                nameof(NumClasses));
        ValidateSize(Height, nameof(Height));
        ValidateSize(Width, nameof(Width));
        if (Count < 1)
            throw new ArgumentException($"SyntheticSceneOptions.Count = {Count} must be >= 1.", nameof(Count));
    }

    private static void ValidateSize(int value, string field)
    {
        if (value >= OutputStride && value % OutputStride == 0)
            return;
        var nearest = Math.Max(OutputStride, (int)Math.Round(value / (double)OutputStride, MidpointRounding.AwayFromZero) * OutputStride);
        throw new ArgumentException(
            $"SyntheticSceneOptions.{field} = {value} is invalid: it must be >= {OutputStride} and divisible by {OutputStride} " +
            $"(the network's output stride); the nearest valid size is {nearest}.",
            field);
    }
}
