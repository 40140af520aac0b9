using System.Globalization;
using System.Text.Json;
using SegCluster.Vision.Data;
using SegCluster.Vision.Spectral;
using Spectre.Console;
using static TorchSharp.torch;

namespace SegCluster.Cli.Spectral;

/// <summary>Runs the grid advisor over the synthetic dataset, writes report.json and plots, prints a table.</summary>
public static class SpectralRunner
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <returns>Process exit code: 0 done, 2 invalid options, 130 cancelled.</returns>
    public static int Run(SpectralRunOptions options, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var datasetOptions = new SyntheticSceneOptions(options.NumClasses, options.Height, options.Width, options.Images, options.Seed);
        try { datasetOptions.Validate(); }
        catch (ArgumentException e)
        {
            console.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 2;
        }
        var dataset = new SyntheticSceneDataset(datasetOptions);
        using var advisor = new GridAdvisor(dataset.NumClasses, options.Height, options.Width);
        console.MarkupLineInterpolated($"spectral: {options.Images} synthetic images {options.Height}x{options.Width}, {dataset.NumClasses} classes, factors {string.Join(", ", advisor.Factors)}");
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("labels", maxValue: options.Images);
                for (int start = 0; start < options.Images && !cancellationToken.IsCancellationRequested; start += options.BatchSize)
                {
                    var indices = Enumerable.Range(start, Math.Min(options.BatchSize, options.Images - start));
                    using var batch = SegmentationBatch.Collate(indices.Select(dataset.Get).ToList(), CPU);
                    advisor.Add(batch.Labels);
                    task.Increment(batch.Count);
                }
            });
        if (cancellationToken.IsCancellationRequested) return 130;

        var advice = advisor.Advise();
        var report = new SpectralReport("synthetic", options.Images, options.Height, options.Width, dataset.ClassNames,
            advice.RecommendedFactor, advisor.Options.MinEnergy, advisor.Options.MaxOracleMIoUDrop, advice.ParsevalRelativeError,
            advice.Factors, advice.ClassEnergyRetained, advice.CumulativeEnergy);
        options.Output.Create();
        File.WriteAllText(Path.Combine(options.Output.FullName, "report.json"), JsonSerializer.Serialize(report, Json));
        SpectralPlots.Energy(report, Path.Combine(options.Output.FullName, "energy.png"));
        SpectralPlots.Factors(report, Path.Combine(options.Output.FullName, "factors.png"));
        WriteTable(console, report);
        console.MarkupLineInterpolated($"wrote report.json, energy.png, factors.png to {options.Output.FullName}");
        return 0;
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
                new Text(f.CrossEntropyGapNearest.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)),
                new Text(f.CrossEntropyGapSoft.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)), new Markup(mark));
        }
        console.Write(table);
    }

    private static string Percent(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
