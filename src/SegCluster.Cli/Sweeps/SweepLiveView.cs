using SegCluster.Abstractions.Sweeps;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SegCluster.Cli.Sweeps;

/// <summary>The live view of a running sweep: trial counts by state, the best trial so far, and the running trials.</summary>
public static class SweepLiveView
{
    public static IRenderable Render(SweepStatus status)
    {
        var spec = status.Spec!;
        // A cancelled trial did not finish (a resume runs it again, and the lines after the view count it among those that
        // did not): it is counted apart, not among the finished.
        var cancelled = status.Count(TrialState.Cancelled);
        var done = status.Trials.Count(t => t.State.IsFinished()) - cancelled;
        var counts = new Markup(
            $"[bold]{Markup.Escape(status.SweepId)}[/] {status.State.ToString().ToLowerInvariant()}: {done}/{status.Trials.Count} finished · " +
            $"[blue]running {status.Count(TrialState.Running)}[/] · [green]done {status.Count(TrialState.Completed)}[/] · " +
            $"[yellow]stopped {status.Count(TrialState.Stopped)}[/] · [red]failed {status.Count(TrialState.Failed)}[/] · " +
            $"skipped {status.Count(TrialState.Skipped)} · pending {status.Count(TrialState.Pending)}" + (cancelled > 0 ? $" · cancelled {cancelled}" : ""));
        var best = status.Best is { } b
            ? new Markup($"best so far: [bold]{Markup.Escape(b.Name)}[/] {spec.Metric} {SweepTable.Format(b.Metric)} ({Markup.Escape(SweepTable.Parameters(b))})")
            : new Markup("best so far: -");
        var running = new Table().AddColumn("running trial").AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("loss").RightAligned()).AddColumn("values");
        foreach (var t in status.Trials.Where(t => t.State == TrialState.Running))
            running.AddRow(Markup.Escape(t.Name), $"{t.Steps}/{spec.Budget}", SweepTable.Format(t.Curve.Count > 0 ? t.Curve[^1].Value : null),
                Markup.Escape(SweepTable.Parameters(t)));
        return new Rows(counts, best, running);
    }
}
