namespace SegCluster.Bench.Amp;

/// <summary>
/// Mean, sample sd and two-sided 95% Student-t interval of paired differences (one per seed): with few seeds the
/// t quantile, not 1.96, sets the width (n = 5: 2.78 standard errors).
/// </summary>
public sealed record PairedDifference(double[] Values, double Mean, double Sd, double StandardError, double Low95, double High95)
{
    public static PairedDifference Of(double[] values)
    {
        int n = values.Length;
        double mean = values.Average();
        double sd = n > 1 ? Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (n - 1)) : double.NaN;
        double se = sd / Math.Sqrt(n), half = n > 1 ? StudentT975(n - 1) * se : double.NaN;
        return new PairedDifference(values, mean, sd, se, mean - half, mean + half);
    }

    /// <summary>The 97.5% quantile of Student's t with <paramref name="df"/> degrees of freedom (tables; 1.96 beyond 30).</summary>
    public static double StudentT975(int df) => df switch
    {
        < 1 => throw new ArgumentOutOfRangeException(nameof(df), df, "needs at least 2 values"),
        <= 30 => Table[df - 1],
        _ => 1.96,
    };

    private static readonly double[] Table =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
}
