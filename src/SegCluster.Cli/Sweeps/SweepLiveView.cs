using SegCluster.Abstractions.Sweeps;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SegCluster.Cli.Sweeps;

/// <summary>The live view of a running sweep: trial counts by state, the best trial so far, and the running trials; or,
/// where output is not a terminal (a pipe, a CI log), those lines printed once each time they change.</summary>
public static class SweepLiveView
{
    public static IRenderable Render(SweepStatus status)
    {
        var spec = status.Spec!;
        var running = new Table().AddColumn("running trial").AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("loss").RightAligned()).AddColumn("values");
        foreach (var t in status.Trials.Where(t => t.State == TrialState.Running))
            running.AddRow(Markup.Escape(t.Name), $"{t.Steps}/{spec.Budget}", SweepTable.Format(t.Curve.Count > 0 ? t.Curve[^1].Value : null),
                Markup.Escape(SweepTable.Parameters(t)));
        return new Rows(new Markup(Counts(status)), new Markup(Best(status)), running);
    }

    /// <summary>For output that is not a terminal: prints the counts and the best trial as plain lines when they change
    /// (a live view redrawn into a pipe wrote a whole table every poll: hundreds of lines for a short sweep).</summary>
    public static Action<SweepStatus> Lines(IAnsiConsole console)
    {
        string? counts = null, best = null;
        return status =>
        {
            if (Markup.Remove(Counts(status)) is var c && c != counts) console.WriteLine(counts = c);
            if (Markup.Remove(Best(status)) is var b && b != best) console.WriteLine(best = b);
        };
    }

    private static string Counts(SweepStatus status)
    {
        // A cancelled trial did not finish (a resume runs it again, and the lines after the view count it among those that
        // did not): it is counted apart, not among the finished.
        var cancelled = status.Count(TrialState.Cancelled);
        var done = status.Trials.Count(t => t.State.IsFinished()) - cancelled;
        return $"[bold]{Markup.Escape(status.SweepId)}[/] {status.State.ToString().ToLowerInvariant()}: {done}/{status.Trials.Count} finished · " +
               $"[blue]running {status.Count(TrialState.Running)}[/] · [green]done {status.Count(TrialState.Completed)}[/] · " +
               $"[yellow]stopped {status.Count(TrialState.Stopped)}[/] · [red]failed {status.Count(TrialState.Failed)}[/] · " +
               $"skipped {status.Count(TrialState.Skipped)} · pending {status.Count(TrialState.Pending)}" + (cancelled > 0 ? $" · cancelled {cancelled}" : "");
    }

    private static string Best(SweepStatus status) => status.Best is { } b
        ? $"best so far: [bold]{Markup.Escape(b.Name)}[/] {status.Spec!.Metric} {SweepTable.Format(b.Metric)} ({Markup.Escape(SweepTable.Parameters(b))})"
        : "best so far: -";
}
