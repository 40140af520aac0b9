using System.Globalization;
using ScottPlot;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SkiaSharp;

namespace SegCluster.Cli.Sweeps;

/// <summary>
/// The report folder's PNG plots, drawn with ScottPlot: the metric against each axis, mIoU against the label grid
/// factor beside its cost (measured trial seconds; loss-grid bytes per batch, computed), the learning curves of
/// the best trials, and the validation curves of every trial that validated during training.
/// </summary>
public static class SweepPlots
{
    private const int Width = 800, Height = 500;
    private const string FactorPath = "labels.factor";

    /// <summary>Writes every plot that applies; returns the file names written.</summary>
    public static IReadOnlyList<string> WriteAll(SweepReport report, DirectoryInfo folder, int curves = 5)
    {
        var written = new List<string>();
        foreach (var path in report.AxisPaths)
        {
            var name = $"metric-vs-{path.Replace('.', '-')}.png";
            MetricVsAxis(report, path, Path.Combine(folder.FullName, name));
            written.Add(name);
        }
        if (report.AxisPaths.Contains(FactorPath) && Scored(report).Any(t => t.MeanIoU is not null))
        {
            GridFactorCost(report, Path.Combine(folder.FullName, "grid-factor-cost.png"));
            written.Add("grid-factor-cost.png");
        }
        if (report.Ranked.Any(t => t.Curve.Count > 0))
        {
            LearningCurves(report, curves, Path.Combine(folder.FullName, "learning-curves.png"));
            written.Add("learning-curves.png");
        }
        if (report.Ranked.Any(t => t.Validations.Count > 0))
        {
            ValidationCurves(report, Path.Combine(folder.FullName, "validation-curves.png"));
            written.Add("validation-curves.png");
        }
        return written;
    }

    /// <summary>Sweep metric of each scored trial against one axis; text values become evenly spaced categories.</summary>
    public static void MetricVsAxis(SweepReport report, string path, string file)
    {
        var plot = new Plot();
        var trials = Scored(report).ToList();
        var values = trials.Select(t => t.ValueOf(path) ?? "").ToList();
        var numeric = values.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        var categories = values.Distinct().OrderBy(v => v, StringComparer.Ordinal).ToList();
        var logScale = numeric && values.Select(Parse).Where(v => v > 0).DefaultIfEmpty(1).Max() / values.Select(Parse).Where(v => v > 0).DefaultIfEmpty(1).Min() >= 100
            && values.All(v => Parse(v) > 0);
        double X(string v) => numeric ? (logScale ? Math.Log10(Parse(v)) : Parse(v)) : categories.IndexOf(v);
        foreach (var state in new[] { TrialState.Completed, TrialState.Stopped })
        {
            var group = trials.Where(t => t.State == state).ToList();
            if (group.Count == 0) continue;
            var scatter = plot.Add.ScatterPoints(group.Select(t => X(t.ValueOf(path) ?? "")).ToArray(), group.Select(t => t.Metric!.Value).ToArray());
            scatter.LegendText = state.ToString().ToLowerInvariant();
            scatter.MarkerSize = 8;
        }
        if (!numeric)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                categories.Select((_, i) => (double)i).ToArray(), categories.ToArray());
            plot.Axes.AutoScale();
            plot.Axes.SetLimitsX(-0.5, categories.Count - 0.5);
        }
        plot.Title($"{report.Spec.Metric} vs {path} ({report.SweepId})");
        plot.XLabel(logScale ? $"log10 {path}" : path);
        plot.YLabel(report.Spec.Metric);
        plot.ShowLegend();
        plot.SavePng(file, Width, Height);
    }

    /// <summary>Left: validation mIoU against log2 f, per label mode. Right: mean trial seconds and loss-grid bytes per batch against log2 f.</summary>
    public static void GridFactorCost(SweepReport report, string file)
    {
        var trials = Scored(report).Where(t => t.MeanIoU is not null && t.ValueOf(FactorPath) is not null).ToList();
        var quality = new Plot();
        foreach (var mode in trials.GroupBy(Mode).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var points = mode.GroupBy(Factor).OrderBy(g => g.Key).ToList();
            var line = quality.Add.Scatter(points.Select(g => Math.Log2(g.Key)).ToArray(), points.Select(g => g.Average(t => t.MeanIoU!.Value)).ToArray());
            line.LegendText = mode.Key;
        }
        quality.Title("validation mIoU vs label grid");
        quality.XLabel("log2 label down-sampling factor f");
        quality.YLabel("mIoU (mean over trials)");
        quality.ShowLegend();

        var cost = new Plot();
        var byFactor = trials.GroupBy(Factor).OrderBy(g => g.Key).ToList();
        var xs = byFactor.Select(g => Math.Log2(g.Key)).ToArray();
        var seconds = cost.Add.Scatter(xs, byFactor.Select(g => g.Average(t => t.Seconds ?? 0)).ToArray());
        seconds.LegendText = "trial wall time, s (measured)";
        var bytes = cost.Add.Scatter(xs, byFactor.Select(g => LossGridKiB(report.Spec, g.Key, Mode(g.First()))).ToArray());
        bytes.LegendText = "loss-grid logits + labels per batch, KiB (computed)";
        bytes.Axes.YAxis = cost.Axes.Right;
        cost.Title("cost vs label grid");
        cost.XLabel("log2 label down-sampling factor f");
        cost.YLabel("seconds per trial");
        cost.Axes.Right.Label.Text = "KiB per batch";
        cost.ShowLegend();

        SideBySide(quality, cost, file);
    }

    /// <summary>Training loss (moving mean) against step for the best <paramref name="count"/> trials.</summary>
    public static void LearningCurves(SweepReport report, int count, string file)
    {
        var plot = new Plot();
        foreach (var t in report.Ranked.Where(t => t.Curve.Count > 0).Take(count))
        {
            var line = plot.Add.Scatter(t.Curve.Select(p => (double)p.Step).ToArray(), t.Curve.Select(p => p.Value).ToArray());
            line.LegendText = $"{t.Name} ({report.Spec.Metric} {SweepTable.Format(t.Metric)})";
            line.MarkerSize = 0;
        }
        plot.Title($"learning curves of the best trials ({report.SweepId})");
        plot.XLabel("step");
        plot.YLabel("training loss (moving mean)");
        plot.ShowLegend();
        plot.SavePng(file, Width, Height);
    }

    /// <summary>The sweep metric of every trial's validations against step (ASHA on a validation metric: the curves of
    /// stopped trials end at the rung that stopped them), with the rungs as vertical lines.</summary>
    public static void ValidationCurves(SweepReport report, string file)
    {
        var plot = new Plot();
        foreach (var t in report.Ranked.Where(t => t.Validations.Count > 0))
        {
            var line = plot.Add.Scatter(t.Validations.Select(p => (double)p.Step).ToArray(), t.Validations.Select(p => p.Value).ToArray());
            line.LegendText = t.State == TrialState.Stopped ? $"{t.Name} (stopped)" : t.Name;
            line.MarkerSize = 4;
        }
        if (report.Spec.Search.Kind == SearchSpec.Asha)
            for (var k = 0; k < report.Spec.Search.Rungs; k++)
                plot.Add.VerticalLine(report.Spec.Search.MinBudget * Math.Pow(report.Spec.Search.ReductionFactor, k), pattern: LinePattern.Dashed);
        plot.Title($"validation {report.Spec.Metric} during training ({report.SweepId})");
        plot.XLabel("step");
        plot.YLabel($"validation {report.Spec.Metric}");
        if (report.Ranked.Count(t => t.Validations.Count > 0) <= 12) plot.ShowLegend();
        plot.SavePng(file, Width, Height);
    }

    /// <summary>Bytes of the final loss's logits and labels for one worker's batch at grid f (float32 logits; int64
    /// hard labels or float32 soft planes), as the label-grid table of docs/label-grids.md counts them.</summary>
    public static double LossGridKiB(SweepSpec spec, int factor, string mode)
    {
        var d = spec.Base.Dataset;
        double cells = (double)(d.Height / factor) * (d.Width / factor) * spec.Base.Training.BatchPerWorker;
        var labelBytes = mode is LabelsSpec.SoftCe or LabelsSpec.SoftKl ? 4.0 * d.NumClasses : 8.0;
        return cells * (4.0 * d.NumClasses + labelBytes) / 1024;
    }

    private static IEnumerable<TrialResult> Scored(SweepReport report) =>
        report.Trials.Where(t => t.Metric is { } m && double.IsFinite(m) && t.State is TrialState.Completed or TrialState.Stopped);

    private static int Factor(TrialResult t) => int.Parse(t.ValueOf(FactorPath)!, CultureInfo.InvariantCulture);

    private static string Mode(TrialResult t) => t.ValueOf("labels.mode") ?? "(base mode)";

    private static double Parse(string value) => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static void SideBySide(Plot left, Plot right, string file)
    {
        using var surface = SKSurface.Create(new SKImageInfo(2 * Width, Height));
        surface.Canvas.Clear(SKColors.White);
        foreach (var (plot, x) in new[] { (left, 0), (right, Width) })
        {
            using var image = SKBitmap.Decode(plot.GetImage(Width, Height).GetImageBytes());
            surface.Canvas.DrawBitmap(image, x, 0);
        }
        using var png = surface.Snapshot().Encode(SKEncodedImageFormat.Png, 100);
        using var stream = File.Create(file);
        png.SaveTo(stream);
    }
}
