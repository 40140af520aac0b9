namespace SegCluster.Vision.Training;

/// <summary>
/// Integer counts (and soft masses) carried exactly through a float32 all-reduce: split into hi·2^12 + lo, so each part stays an
/// exact float32 integer (float32 is exact only up to 2^24) even for 1024×2048 batches summed over many ranks.
/// </summary>
internal static class ExactCount
{
    private const long Split = 1 << 12;

    public static (float Hi, float Lo) ToParts(long count) => (count / Split, count % Split);

    public static double FromParts(double hi, double lo) => hi * Split + lo;

    /// <summary>
    /// A non-negative mass (a soft-label term's Σ Ỹ, fractional when cells are partly ignore): the integer part as above
    /// and the fraction in [0, 1) as a third part. A soft mass at a power-of-two factor f ≤ 64 is a multiple of 1/f², so
    /// its fraction is an exact float32, and the fractions of many ranks sum exactly while below 2^12.
    /// </summary>
    public static (float Hi, float Lo, float Fraction) ToParts(double mass)
    {
        var whole = Math.Floor(mass);
        var (hi, lo) = ToParts((long)whole);
        return (hi, lo, (float)(mass - whole));
    }

    public static double FromParts(double hi, double lo, double fraction) => hi * Split + lo + fraction;
}
