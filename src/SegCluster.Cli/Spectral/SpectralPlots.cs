using ScottPlot;

namespace SegCluster.Cli.Spectral;

/// <summary>The PNG plots of `segcluster spectral`, drawn with ScottPlot (PAPERS.md §2 figures).</summary>
public static class SpectralPlots
{
    /// <summary>Cumulative label energy against normalised radial frequency, one curve per class and a bold one for the
    /// whole dataset.</summary>
    public static void Energy(SpectralReport report, string path)
    {
        var plot = new Plot();
        int bands = report.CumulativeEnergy.Length == 0 ? 0 : report.CumulativeEnergy[0].Length;
        var xs = Enumerable.Range(1, bands).Select(b => b / (double)bands * Math.Sqrt(0.5)).ToArray();  // band upper edge, cycles/px
        for (int k = 0; k < report.CumulativeEnergy.Length; k++)
            plot.Add.Scatter(xs, report.CumulativeEnergy[k]).LegendText = report.ClassNames[k];
        if (report.DatasetCumulativeEnergy is { Length: > 0 } dataset)
        {
            var all = plot.Add.Scatter(xs, dataset);
            all.LegendText = "all classes";
            all.LineWidth = 3;
            all.Color = Colors.Black;
        }
        plot.Title("Cumulative label energy per class and for the dataset");
        plot.XLabel("radial frequency (cycles / pixel)");
        plot.YLabel("energy share");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }

    /// <summary>Oracle mIoU (nearest, soft) and retained energy against log2 f, the recommended grid marked.</summary>
    public static void Factors(SpectralReport report, string path)
    {
        var plot = new Plot();
        var xs = report.Factors.Select(f => Math.Log2(f.Factor)).ToArray();
        plot.Add.Scatter(xs, report.Factors.Select(f => f.EnergyRetained).ToArray()).LegendText = "energy retained";
        plot.Add.Scatter(xs, report.Factors.Select(f => f.OracleMIoUNearest).ToArray()).LegendText = "oracle mIoU (nearest)";
        plot.Add.Scatter(xs, report.Factors.Select(f => f.OracleMIoUSoft).ToArray()).LegendText = "oracle mIoU (soft)";
        var chosen = plot.Add.VerticalLine(Math.Log2(report.RecommendedFactor));
        chosen.LegendText = $"recommended f = {report.RecommendedFactor}";
        chosen.LinePattern = LinePattern.Dashed;
        plot.Title($"Label grid advice ({report.Height}x{report.Width}, {report.Images} images)");
        plot.XLabel("log2 down-sampling factor f");
        plot.YLabel("share");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
