using System.Globalization;
using SegCluster.Cli.Evaluation;
using Spectre.Console;

namespace SegCluster.Cli.Output;

/// <summary>The table `segcluster eval` prints: IoU per class by name, then mIoU and pixel accuracy.</summary>
public static class EvaluationTable
{
    public static void Write(IAnsiConsole console, EvaluationResult result)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(result.Split)}[/] ({result.Images} images, {result.Workers} workers)")
            .AddColumn("class").AddColumn(new TableColumn("IoU").RightAligned());
        foreach (var c in result.Classes)
            table.AddRow(Markup.Escape(c.Name), c.Iou is { } v ? Percent(v) : "n/a");
        table.AddRow(new Markup("[bold]mIoU[/]"), new Markup($"[bold]{Percent(result.Miou)}[/]"));
        table.AddRow("pixel accuracy", Percent(result.PixelAccuracy));
        console.Write(table);
    }

    private static string Percent(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
