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

    /// <summary>The second axis (PAPERS.md §2 "Feature truncation"): trained mIoU against MMACs per image, one line per
    /// label mode × factor through its decoder truncation ratios. False (nothing written) with a single ratio.</summary>
    public static bool WriteTruncation(SpectralSweepReport report, string path)
    {
        if (report.Rows.Select(r => r.DecoderTruncation).Distinct().Count() < 2) return false;
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var groups = report.Rows.Where(r => r.TrainedMIoU is not null && r.GigaMacsPerImage is not null).GroupBy(r => (r.Mode, r.Factor)).OrderBy(g => g.Key.Mode).ThenBy(g => g.Key.Factor).ToList();
        for (var i = 0; i < groups.Count; i++)
        {
            var rows = groups[i].OrderByDescending(r => r.DecoderTruncation).ToList();
            var line = plot.Add.Scatter(rows.Select(r => 1000 * r.GigaMacsPerImage!.Value).ToArray(), rows.Select(r => 100 * r.TrainedMIoU!.Value).ToArray());
            line.LegendText = $"{groups[i].Key.Mode} f = {groups[i].Key.Factor} (r = {string.Join(", ", rows.Select(r => r.DecoderTruncation))})";
            line.Color = palette.GetColor(i);
            line.MarkerSize = 8;
        }
        plot.Title($"{report.Sweep}: trained mIoU against compute (decoder truncation ratio r)");
        plot.XLabel("MMACs per image");
        plot.YLabel("trained mIoU (%)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 550);
        return true;
    }
}
