namespace SegCluster.Vision.Training;

/// <summary>
/// Integer counts carried exactly through a float32 all-reduce: split into hi·2^12 + lo, so each part stays an
/// exact float32 integer (float32 is exact only up to 2^24) even for 1024×2048 batches summed over many ranks.
/// </summary>
internal static class ExactCount
{
    private const long Split = 1 << 12;

    public static (float Hi, float Lo) ToParts(long count) => (count / Split, count % Split);

    public static double FromParts(double hi, double lo) => hi * Split + lo;
}
