namespace SegCluster.Vision.Models;

/// <summary>What <see cref="ModelProfiler"/> reports for one model at one input size.</summary>
/// <param name="Parameters">Trainable scalars.</param>
/// <param name="Macs">Multiply-accumulates of every Conv2d and Linear for one image.</param>
/// <param name="Height">Input height the count is for.</param>
/// <param name="Width">Input width the count is for.</param>
public sealed record ModelProfile(long Parameters, double Macs, int Height, int Width)
{
    /// <summary>FLOPs = 2 × MACs, the convention of the SPGNet paper's table (PAPERS.md §1) and of fvcore/ptflops "×2" reports.</summary>
    public double Flops => 2 * Macs;

    /// <summary>One line: <c>params 55.86M  GMACs 502.6  GFLOPs 1005.2 (2×MACs, conv+linear)  at 1024x2048</c>.</summary>
    public override string ToString() =>
        $"params {Parameters / 1e6:F2}M  GMACs {Giga(Macs)}  GFLOPs {Giga(Flops)} (2×MACs, conv+linear)  at {Height}x{Width}";

    /// <summary>One decimal from 10 G up (654.8), three below (0.153), so small CPU models stay readable.</summary>
    private static string Giga(double value) =>
        (value / 1e9).ToString(value >= 1e10 ? "F1" : "F3", System.Globalization.CultureInfo.InvariantCulture);
}
