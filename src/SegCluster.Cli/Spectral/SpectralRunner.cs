using System.Globalization;
using System.Text.Json;
using SegCluster.Abstractions;
using SegCluster.Cluster.Spectral;
using SegCluster.Vision.Spectral;
using Spectre.Console;

namespace SegCluster.Cli.Spectral;

/// <summary>
/// Runs the distributed label analysis on a cluster (the shard grains compute where the data is, the results merge
/// exactly), writes report.json, statistics.json and the plots, prints the table.
/// </summary>
public static class SpectralRunner
{
    public const string ReportFile = "report.json";
    public const string StatisticsFile = "statistics.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <returns>Process exit code: 0 done, 2 invalid options, 130 cancelled.</returns>
    public static async Task<int> RunAsync(SpectralRunOptions options, IGrainFactory grains, string where, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        SpectralAnalysisOutcome outcome;
        try
        {
            outcome = await AnalyseAsync(console, grains, options, where, cancellationToken);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        var report = Write(options, outcome);
        WriteTable(console, report);
        console.MarkupLineInterpolated($"wrote {ReportFile}, {StatisticsFile}, energy.png, factors.png to {options.Output.FullName}");
        return 0;
    }

    /// <summary>The analysis with a progress bar over the shards.</summary>
    public static async Task<SpectralAnalysisOutcome> AnalyseAsync(IAnsiConsole console, IGrainFactory grains, SpectralRunOptions options, string where, CancellationToken cancellationToken)
    {
        var d = options.Spec.Dataset;
        // Plain text, not markup: a files dataset's identity holds ':train:', which Spectre's markup turns into an emoji (🚆),
        // and escaping markup (Markup.Escape, MarkupLineInterpolated) only escapes brackets.
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"spectral: {options.Images} training labels of {d.Identity(options.Spec.Seed)} at {d.Height}x{d.Width} in {options.Shards} shard(s) on {where}"));
        SpectralAnalysisOutcome? outcome = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("shards", maxValue: options.Shards);
                outcome = await new DistributedSpectralAnalysis(grains).RunAsync(
                    options.Spec, options.Images, options.Shards, options.BatchSize,
                    onShard: _ => task.Increment(1),
                    onRetry: (shard, e) => console.MarkupLineInterpolated($"[yellow]shard {shard} failed ({e.GetType().Name}: {e.Message}); retrying[/]"),
                    cancellationToken);
            });
        return outcome!;
    }

    /// <summary>Writes report.json, statistics.json (the merged sums) and the plots; returns the report.</summary>
    public static SpectralReport Write(SpectralRunOptions options, SpectralAnalysisOutcome outcome)
    {
        var statistics = outcome.Statistics;
        var advisorOptions = options.Advisor ?? new GridAdvisorOptions();
        var advice = statistics.Advise(advisorOptions);
        var report = new SpectralReport(options.Spec.Dataset.Identity(options.Spec.Seed), (int)statistics.Images, statistics.Height, statistics.Width,
            ClassNames(options, statistics.NumClasses), advice.RecommendedFactor, advisorOptions.MinEnergy, advisorOptions.MaxOracleMIoUDrop,
            advice.ParsevalRelativeError, advice.Factors, advice.ClassEnergyRetained, advice.CumulativeEnergy,
            outcome.Shards.Select(s => new SpectralShardSummary(s.Shard, s.Images, s.ComputedBy, s.Seconds, s.FromRecord)).ToList(),
            advice.DatasetCumulativeEnergy);
        options.Output.Create();
        File.WriteAllText(Path.Combine(options.Output.FullName, ReportFile), JsonSerializer.Serialize(report, Json));
        File.WriteAllText(Path.Combine(options.Output.FullName, StatisticsFile), statistics.ToJson());
        SpectralPlots.Energy(report, Path.Combine(options.Output.FullName, "energy.png"));
        SpectralPlots.Factors(report, Path.Combine(options.Output.FullName, "factors.png"));
        return report;
    }

    /// <summary>The dataset's class names where this process can read them (synthetic, or files it can see); else numbers.</summary>
    private static IReadOnlyList<string> ClassNames(SpectralRunOptions options, int numClasses)
    {
        try
        {
            var names = ShardSpectralAnalyser.Labels(options.Spec).ClassNames;
            if (names.Count == numClasses) return names;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // the data is on the cluster's nodes only
        }
        return Enumerable.Range(0, numClasses).Select(k => $"class {k}").ToList();
    }

    private static void WriteTable(IAnsiConsole console, SpectralReport report)
    {
        var table = new Table().Title($"[bold]label grid (Parseval error {report.ParsevalRelativeError:E1})[/]")
            .AddColumn("f").AddColumn("grid")
            .AddColumn(new TableColumn("energy").RightAligned())
            .AddColumn(new TableColumn("oracle mIoU nearest").RightAligned())
            .AddColumn(new TableColumn("oracle mIoU soft").RightAligned())
            .AddColumn(new TableColumn("CE gap nearest").RightAligned())
            .AddColumn(new TableColumn("CE gap soft").RightAligned())
            .AddColumn("advice");
        foreach (var f in report.Factors)
        {
            var mark = f.Factor == report.RecommendedFactor ? "[green]recommended[/]" : "";
            table.AddRow(new Text($"{f.Factor}"), new Text($"{f.GridHeight}x{f.GridWidth}"),
                new Text(Percent(f.EnergyRetained)), new Text(Percent(f.OracleMIoUNearest)), new Text(Percent(f.OracleMIoUSoft)),
                new Text(Signed(f.CrossEntropyGapNearest)), new Text(Signed(f.CrossEntropyGapSoft)), new Markup(mark));
        }
        console.Write(table);
        if (report.Shards is { Count: > 0 } shards)
            console.MarkupLineInterpolated($"shards: {string.Join(", ", shards.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Shard}: {s.Images} images on {s.ComputedBy} in {s.Seconds:F1} s{(s.FromRecord ? " (recorded)" : "")}")))}");
    }

    /// <summary>A gap with its sign, rounded first: a value that rounds to zero prints 0.0000, not .NET's "-+0.0000" for a
    /// tiny negative under a sectioned format.</summary>
    internal static string Signed(double value) => Math.Round(value, 4).ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture);

    internal static string Percent(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
