using Spectre.Console;

namespace SegCluster.Cli.Spectral;

/// <summary>The spectral sweep's table: per trial the predicted figures next to the trained ones, then per mode the
/// rank correlation and whether training agreed with the advisor.</summary>
public static class SpectralSweepTable
{
    public static Table Create(SpectralSweepReport report)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(report.Sweep)}: advisor vs training ({report.Images} images in {report.Shards} shards)[/]")
            .AddColumn("f").AddColumn("mode").AddColumn(new TableColumn("trunc").RightAligned())
            .AddColumn(new TableColumn("energy").RightAligned())
            .AddColumn(new TableColumn("predicted mIoU").RightAligned())
            .AddColumn(new TableColumn("CE gap").RightAligned())
            .AddColumn(new TableColumn("trained mIoU").RightAligned())
            .AddColumn(new TableColumn("img/s").RightAligned())
            .AddColumn(new TableColumn("act. MiB").RightAligned())
            .AddColumn(new TableColumn("GMACs").RightAligned())
            .AddColumn(new TableColumn("labels saved").RightAligned())
            .AddColumn("advice");
        foreach (var r in report.Rows.OrderBy(r => r.Mode).ThenBy(r => r.DecoderTruncation).ThenBy(r => r.Factor))
            table.AddRow(new Text($"{r.Factor}"), new Text(r.Mode), new Text(SpectralSweepRunner.Format(r.DecoderTruncation, "0.##")),
                new Text(SpectralRunner.Percent(r.EnergyRetained)), new Text(SpectralRunner.Percent(r.PredictedMIoU)),
                new Text(SpectralRunner.Signed(r.PredictedCrossEntropyGap)),
                new Text(r.TrainedMIoU is { } m ? SpectralRunner.Percent(m) : r.State),
                new Text(SpectralSweepRunner.Format(r.ImagesPerSecond, "F1")), new Text(SpectralSweepRunner.Format(r.ConvActivationMiB, "F1")),
                new Text(SpectralSweepRunner.Format(r.GigaMacsPerImage, "F3")),
                new Text(r.AnnotationSaved > 0 ? SpectralRunner.Percent(r.AnnotationSaved) : ""), new Markup(r.Recommended ? "[green]recommended[/]" : ""));
        foreach (var m in report.Modes)
            table.AddEmptyRow().AddRow(new Text(""), new Text(m.Mode), new Text(""), new Text(""),
                new Text($"ρ = {SpectralSweepRunner.Format(m.SpearmanRho, "F2")}"), new Text(""),
                new Text($"trained f = {m.TrainedFactor?.ToString() ?? "–"}"), new Text(""), new Text(""), new Text(""), new Text(""),
                new Markup(m.Agreed ? "[green]agreed[/]" : $"[yellow]advisor f = {m.AdvisorFactor}[/]"));
        return table;
    }
}
