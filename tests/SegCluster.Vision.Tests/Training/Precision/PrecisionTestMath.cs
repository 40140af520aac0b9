namespace SegCluster.Vision.Tests.Training.Precision;

internal static class PrecisionTestMath
{
    /// <summary>‖(b − start) − (a − start)‖ / ‖a − start‖ over all parameters: how far run b's updates are from run a's.</summary>
    public static double RelativeChangeError(float[][] start, float[][] a, float[][] b)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < start.Length; i++)
            for (int j = 0; j < start[i].Length; j++)
            {
                double da = a[i][j] - start[i][j], db = b[i][j] - start[i][j];
                diff += (db - da) * (db - da);
                norm += da * da;
            }
        return Math.Sqrt(diff / norm);
    }

    /// <summary>Largest |a − b| over all elements.</summary>
    public static double MaxAbsDifference(float[][] a, float[][] b) =>
        a.Zip(b).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
}
