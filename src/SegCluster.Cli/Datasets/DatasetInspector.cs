using System.Globalization;
using SegCluster.Abstractions;
using SegCluster.Vision.Data.Files;
using Spectre.Console;

namespace SegCluster.Cli.Datasets;

/// <summary>Runs `dataset inspect`: reads the layout, scans the splits with a progress bar, prints tables.</summary>
public static class DatasetInspector
{
    private const int ProblemsShown = 10;

    /// <returns>Exit code: 0 inspected (unusable files, if any, are listed), 1 a split has more unusable samples than
    /// <paramref name="maxInvalidFraction"/> (training on it would stop), 2 not a dataset, 130 cancelled.</returns>
    public static int Run(string path, string format, string? split, int? limit, double maxInvalidFraction, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        DatasetLayout layout;
        try
        {
            layout = DatasetLayoutDetector.Open(path, format);
            if (split is not null) layout.Split(split);
        }
        catch (Exception e) when (e is ArgumentException or IOException or DatasetFileException)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return 2;
        }
        console.MarkupLineInterpolated($"[bold]{DatasetFormats.Name(layout.Format)}[/] dataset at {layout.Root}: {layout.NumClasses} classes; masks: {layout.Mapping.Description}");

        var splits = split is null ? layout.Splits.Keys.ToList() : [split];
        var results = new List<SplitStatistics>();
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var tasks = splits.ToDictionary(s => s, s => context.AddTask(s, maxValue: Math.Max(1, Math.Min(layout.Split(s).Count, limit ?? int.MaxValue))));
                foreach (var s in splits)
                {
                    if (cancellationToken.IsCancellationRequested) return;
                    results.Add(DatasetStatistics.Inspect(layout, s, limit, () => tasks[s].Increment(1)));
                }
            });
        if (cancellationToken.IsCancellationRequested) return 130;

        console.Write(SplitTable(results));
        foreach (var r in results)
            console.Write(HistogramTable(layout, r));
        var problems = results.SelectMany(r => r.Problems).ToList();
        if (problems.Count > 0)
        {
            console.MarkupLineInterpolated($"[yellow]{problems.Count} unusable sample(s)[/] (training treats them as all-ignore, up to dataset.max_invalid_fraction of a split):");
            foreach (var p in problems.Take(ProblemsShown))
                console.MarkupLineInterpolated($"  {p.Message}");
            if (problems.Count > ProblemsShown) console.MarkupLineInterpolated($"  ... and {problems.Count - ProblemsShown} more");
        }
        // The rule training applies (AugmentedFileSource): more unusable samples than the fraction of the split stop the run.
        // With --limit the count is of the samples inspected, a lower bound of the split's.
        var failing = results.Where(r => r.Problems.Count > maxInvalidFraction * r.Samples).ToList();
        foreach (var r in failing)
            console.MarkupLineInterpolated(
                $"[red]training on '{r.Split}' would stop[/]: {r.Problems.Count} of its {r.Samples} samples are unusable{(r.Inspected < r.Samples ? $" (among the {r.Inspected} inspected)" : "")}, more than dataset.max_invalid_fraction {maxInvalidFraction.ToString(CultureInfo.InvariantCulture)}; fix or remove them.");
        // A --limit sample over the limit says so without failing: the split as a whole may still be within it.
        foreach (var r in results.Except(failing).Where(r => r.Inspected < r.Samples && r.Problems.Count > maxInvalidFraction * r.Inspected))
            console.MarkupLineInterpolated(
                $"[yellow]at this rate training on '{r.Split}' would stop[/]: {r.Problems.Count} of the {r.Inspected} inspected samples are unusable ({Percent((double)r.Problems.Count / r.Inspected)}), more than dataset.max_invalid_fraction {maxInvalidFraction.ToString(CultureInfo.InvariantCulture)}; inspect without --limit to count them all.");
        return failing.Count > 0 ? 1 : 0;
    }

    private static Table SplitTable(IReadOnlyList<SplitStatistics> results)
    {
        var table = new Table().Title("[bold]splits[/]").AddColumn("split")
            .AddColumn(new TableColumn("samples").RightAligned()).AddColumn(new TableColumn("inspected").RightAligned())
            .AddColumn("image sizes (HxW: count)").AddColumn(new TableColumn("unusable").RightAligned());
        foreach (var r in results)
        {
            var sizes = string.Join(", ", r.ImageSizes.OrderByDescending(kv => kv.Value).Take(4).Select(kv => $"{kv.Key.Height}x{kv.Key.Width}: {kv.Value}"));
            if (r.ImageSizes.Count > 4) sizes += $", ... ({r.ImageSizes.Count} sizes)";
            table.AddRow(new Text(r.Split), new Text(Count(r.Samples)), new Text(Count(r.Inspected)), new Text(sizes), new Text(Count(r.Problems.Count)));
        }
        return table;
    }

    private static Table HistogramTable(DatasetLayout layout, SplitStatistics r)
    {
        long labelled = r.ClassPixels.Sum(), all = labelled + r.IgnorePixels;
        var table = new Table().Title($"[bold]{Markup.Escape(r.Split)}: class histogram[/]").AddColumn(new TableColumn("id").RightAligned()).AddColumn("class")
            .AddColumn(new TableColumn("pixels").RightAligned()).AddColumn(new TableColumn("share of labelled").RightAligned())
            .AddColumn(new TableColumn("images").RightAligned());
        for (int c = 0; c < layout.NumClasses; c++)
            table.AddRow(new Text(Count(c)), new Text(layout.ClassNames[c]), new Text(Count(r.ClassPixels[c])),
                new Text(Percent(labelled > 0 ? (double)r.ClassPixels[c] / labelled : 0)), new Text(Count(r.ClassImages[c])));
        table.AddRow(new Text("255"), new Text("(ignore)"), new Text(Count(r.IgnorePixels)), new Text(Percent(all > 0 ? (double)r.IgnorePixels / all : 0) + " of all"), new Text(""));
        return table;
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
