using Spectre.Console;

namespace SegCluster.Cli.Sweeps;

/// <summary>`segcluster results` without a sweep: every sweep under the root, most recently written first, with its state,
/// trial counts and best trial from results.json. A sweep whose report says running but whose state folder no process
/// holds was interrupted (its process was killed): it is listed so, with the command that resumes it.</summary>
public static class SweepIndexTable
{
    public static (Table Table, IReadOnlyList<string> ResumeCommands) Create(DirectoryInfo root)
    {
        var table = new Table().Title($"[bold]sweeps under {Markup.Escape(root.FullName)}[/]")
            .AddColumn("sweep").AddColumn("state").AddColumn(new TableColumn("trials").RightAligned()).AddColumn("best");
        var resume = new List<string>();
        IEnumerable<DirectoryInfo> folders = root.Exists ? root.GetDirectories().OrderByDescending(d => d.LastWriteTimeUtc) : [];
        foreach (var folder in folders)
        {
            var file = Path.Combine(folder.FullName, SweepReport.JsonFile);
            var (reported, resumable) = (File.Exists(file), SweepStateFolder.Exists(folder.FullName));
            if (!reported && !resumable) continue;
            var (state, trials, best) = reported ? Summary(file) : ("", "", "");
            if (resumable && state is "" or "running" && SweepStateFolder.Read(folder, out _)?.IsHeld() == false)
            {
                state = "interrupted";
                resume.Add(SweepRunner.ResumeCommand(folder.Name, root));
            }
            table.AddRow(new Text(folder.Name), new Text(state), new Text(trials), new Text(best));
        }
        return (table, resume);
    }

    /// <summary>State, trial counts by state and the best trial of a report.</summary>
    private static (string State, string Trials, string Best) Summary(string file)
    {
        SweepReport report;
        try
        {
            report = SweepReport.FromJson(File.ReadAllText(file), file);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or IOException)
        {
            return ("unreadable", "", e.Message.Length > 60 ? e.Message[..60] + "…" : e.Message);
        }
        var counts = report.Trials.GroupBy(t => t.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        var best = new Abstractions.Sweeps.SweepStatus(report.SweepId, report.State, report.Spec, report.Trials).Best is { } b
            ? $"{b.Name}: {report.Spec.Metric} {SweepTable.Format(b.Metric)}" : "-";
        return (report.State.ToString().ToLowerInvariant(), string.Join(", ", counts), best);
    }
}
