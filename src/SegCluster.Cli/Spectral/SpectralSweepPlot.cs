using ScottPlot;

namespace SegCluster.Cli.Spectral;

/// <summary>Predicted (oracle, dashed) and trained (solid) mIoU against log2 f, one colour per label mode, the advisor's
/// recommended factor marked.</summary>
public static class SpectralSweepPlot
{
    public static void Write(SpectralSweepReport report, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var modes = report.Rows.Where(r => r.DecoderTruncation == 1).GroupBy(r => r.Mode).ToList();
        for (var i = 0; i < modes.Count; i++)
        {
            var rows = modes[i].OrderBy(r => r.Factor).ToList();
            var color = palette.GetColor(i);
            var xs = rows.Select(r => Math.Log2(r.Factor)).ToArray();
            var predicted = plot.Add.Scatter(xs, rows.Select(r => 100 * r.PredictedMIoU).ToArray());
            predicted.LegendText = $"{modes[i].Key}: predicted (oracle)";
            predicted.LinePattern = LinePattern.Dashed;
            predicted.Color = color;
            var trained = rows.Where(r => r.TrainedMIoU is not null).ToList();
            if (trained.Count == 0) continue;
            var line = plot.Add.Scatter(trained.Select(r => Math.Log2(r.Factor)).ToArray(), trained.Select(r => 100 * r.TrainedMIoU!.Value).ToArray());
            line.LegendText = $"{modes[i].Key}: trained";
            line.Color = color;
            line.MarkerSize = 8;
        }
        var chosen = plot.Add.VerticalLine(Math.Log2(report.RecommendedFactor));
        chosen.LegendText = $"advisor: f = {report.RecommendedFactor}";
        chosen.LinePattern = LinePattern.Dotted;
        plot.Title($"{report.Sweep}: predicted vs trained mIoU (Spearman ρ = {SpectralSweepRunner.Format(report.SpearmanRho, "F2")})");
        plot.XLabel("log2 label grid factor f");
        plot.YLabel("mIoU (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, 900, 550);
    }
}
