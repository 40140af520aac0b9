using Spectre.Console;

namespace SegCluster.Cli.Sweeps;

/// <summary>`segcluster results` without a sweep: every sweep under the root, most recently written first:
/// its state, trial counts and best trial from results.json, or, for a sweep whose process ended before it wrote one,
/// that it can be resumed.</summary>
public static class SweepIndexTable
{
    public static Table Create(DirectoryInfo root)
    {
        var table = new Table().Title($"[bold]sweeps under {Markup.Escape(root.FullName)}[/]")
            .AddColumn("sweep").AddColumn("state").AddColumn(new TableColumn("trials").RightAligned()).AddColumn("best");
        IEnumerable<DirectoryInfo> folders = root.Exists ? root.GetDirectories().OrderByDescending(d => d.LastWriteTimeUtc) : [];
        foreach (var folder in folders)
        {
            var file = Path.Combine(folder.FullName, SweepReport.JsonFile);
            if (File.Exists(file)) table.AddRow(Row(folder, file));
            else if (SweepStateFolder.Exists(folder.FullName))
                table.AddRow(new Text(folder.Name), new Markup("[yellow]no report[/]"), new Text(""), new Text(SweepRunner.ResumeCommand(folder.Name, root)));
        }
        return table;
    }

    private static Text[] Row(DirectoryInfo folder, string file)
    {
        SweepReport report;
        try
        {
            report = SweepReport.FromJson(File.ReadAllText(file), file);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or IOException)
        {
            return [new Text(folder.Name), new Text("unreadable"), new Text(""), new Text(e.Message.Length > 60 ? e.Message[..60] + "…" : e.Message)];
        }
        var counts = report.Trials.GroupBy(t => t.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        var best = SweepStatus(report).Best is { } b ? $"{b.Name}: {report.Spec.Metric} {SweepTable.Format(b.Metric)}" : "-";
        return [new Text(folder.Name), new Text(report.State.ToString().ToLowerInvariant()), new Text(string.Join(", ", counts)), new Text(best)];
    }

    private static Abstractions.Sweeps.SweepStatus SweepStatus(SweepReport report) => new(report.SweepId, report.State, report.Spec, report.Trials);
}
