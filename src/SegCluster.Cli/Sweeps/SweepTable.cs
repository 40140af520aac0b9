using System.Globalization;
using SegCluster.Abstractions.Sweeps;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SegCluster.Cli.Sweeps;

/// <summary>The sorted results table (best first) of `segcluster sweep` and `segcluster results`.</summary>
public static class SweepTable
{
    public static Table Create(SweepReport report, int top)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(report.SweepId)}[/]: {report.Trials.Count} trials, {report.Spec.Metric} ({report.Spec.EffectiveMode}), best first")
            .AddColumn("#").AddColumn("trial").AddColumn("state")
            .AddColumn(new TableColumn(report.Spec.Metric).RightAligned())
            .AddColumn(new TableColumn("steps").RightAligned())
            .AddColumn(new TableColumn("s").RightAligned());
        foreach (var path in report.AxisPaths) table.AddColumn(path);
        table.AddColumn("reason");
        var rank = 0;
        foreach (var t in report.Ranked.Take(top))
        {
            var cells = new List<IRenderable>
            {
                new Text($"{++rank}"), new Text(t.Name), new Markup(State(t.State)), new Text(Format(t.Metric)), new Text($"{t.Steps}"),
                new Text(t.Seconds is { } s ? s.ToString("F1", CultureInfo.InvariantCulture) : ""),
            };
            cells.AddRange(report.AxisPaths.Select(p => new Text(t.ValueOf(p) is { } v ? Short(v) : "")));
            cells.Add(new Text(t.Reason is { } r ? Short(r, 40) : ""));
            table.AddRow(cells);
        }
        return table;
    }

    /// <summary>Where the best trial's best weights are, as a plain line to copy (its last attempt's best.ckpt, or the earlier
    /// attempt's one that attempt continued from and did not beat), or why that file cannot be pointed at; null when the
    /// best trial has no best checkpoint (it did not validate during training), or there is no best trial.</summary>
    public static string? BestCheckpointLine(SweepReport report) => new SweepStatus(report.SweepId, report.State, report.Spec, report.Trials).Best switch
    {
        { BestCheckpoint: { } best } trial => $"best checkpoint of the best trial, {trial.Name}: {best.Path} (step {best.Step})",
        { BestCheckpointProblem: { } problem } trial => $"best checkpoint of the best trial, {trial.Name}: none: {problem}",
        _ => null,
    };

    /// <summary>A trial's parameters as "path=value, …", as the live view and the dry run print them.</summary>
    public static string Parameters(TrialResult trial) => string.Join(", ", trial.Parameters.Select(p => $"{p.Path}={p.Value}"));

    public static string Format(double? value) => value is { } v ? v.ToString("F4", CultureInfo.InvariantCulture) : "-";

    public static string State(TrialState state) => state switch
    {
        TrialState.Completed => "[green]completed[/]",
        TrialState.Stopped => "[yellow]stopped[/]",
        TrialState.Failed => "[red]failed[/]",
        TrialState.Running => "[blue]running[/]",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Numbers drawn from ranges print with 4 significant digits; long text is cut.</summary>
    private static string Short(string value, int max = 24)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && value.Length > 8)
            return d.ToString("G4", CultureInfo.InvariantCulture);
        return value.Length <= max ? value : value[..(max - 1)] + "…";
    }
}
