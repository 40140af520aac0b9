using System.Globalization;
using Spectre.Console;

namespace SegCluster.Cli.Output;

/// <summary>The result table quickstart prints: per-class IoU, then mIoU and throughput.</summary>
public static class ResultTable
{
    public static void Write(IAnsiConsole console, QuickstartResult result)
    {
        var table = new Table().Title("[bold]validation[/]").AddColumn("class").AddColumn(new TableColumn("IoU").RightAligned());
        foreach (var (name, iou) in result.ClassIou)
            table.AddRow(Markup.Escape(name), iou is { } v ? Percent(v) : "n/a");
        table.AddRow(new Markup("[bold]mIoU[/]"), new Markup($"[bold]{Percent(result.Miou)}[/]"));
        table.AddRow("pixel accuracy", Percent(result.PixelAccuracy));
        if (result.LabelledFraction is { } labelled and < 1) table.AddRow("pixels labelled (annotation)", Percent(labelled));
        table.AddRow("images/s (all workers)", ImagesPerSecond(result));
        table.AddRow("steps × workers", result.StartStep == 0
            ? $"{result.Steps} × {result.Workers}"
            : $"{result.TrainedSteps} × {result.Workers} (steps {result.StartStep + 1}-{result.Steps}, resumed)");
        console.Write(table);
    }

    // Each ring's first step (warm-up: allocation, kernel selection) is not timed, so one trained step gives no rate.
    private static string ImagesPerSecond(QuickstartResult result) => result.TrainedSteps <= 1
        ? "n/a (one step: the first is warm-up, not timed)"
        : result.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture);

    private static string Percent(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
