using SegCluster.Abstractions.Messages;
using Spectre.Console;

namespace SegCluster.Cli.Output;

/// <summary>One experiment's status as a two-column table (`segcluster status ID`, end of `train`).</summary>
public static class ExperimentStatusView
{
    public static void Write(IAnsiConsole console, ExperimentStatus status)
    {
        var table = new Table().AddColumns("experiment", status.ExperimentId);
        void Row(string key, string value) => table.AddRow(Markup.Escape(key), Markup.Escape(value));
        // Attempt 0: the ring was never formed. The only way there is a cancel while queued: the scheduler held the
        // spec, so the experiment has no step count and never had workers or attempts to show.
        var neverStarted = status.Attempt == 0;
        var state = status.State.ToString().ToLowerInvariant();
        Row("state", neverStarted && status.State.IsFinal() ? $"{state} (while queued; it never started)" : state);
        if (!neverStarted) Row("step", $"{status.Step}/{status.TotalSteps}");
        if (!double.IsNaN(status.Loss)) Row("loss", $"{status.Loss:F4}");
        if (status.WorkerIds.Count > 0) Row("workers", string.Join(", ", status.WorkerIds));
        else if (!status.State.IsFinal()) Row("workers", "(none: waiting for a gang)");
        if (status.CoordinatorNode is { } coordinator) Row("coordinator", coordinator);
        if (!neverStarted) Row("attempt", $"{status.Attempt} ({status.StepsRedone} steps redone after failures)");
        if (status.Checkpoint is { } c) Row("checkpoint", $"step {c.Step}: {c.Path}");
        if (status.Validations.Count > 0)
            Row("validations", string.Join(", ", status.Validations.Select(v => $"step {v.Step}: mIoU {v.Evaluation.MeanIoU:P1}")));
        if (BestCheckpoint(status) is { } best) Row("best checkpoint", best);
        if (status.Evaluation is { } e) Row("mIoU", $"{e.MeanIoU:P1} (pixel accuracy {e.PixelAccuracy:P1})");
        if (status.Error is { } error) Row("error", error);
        console.Write(table);
    }

    /// <summary>Where the run's best weights are, as a line: its own best.ckpt, or the file of the best the checkpoint it
    /// resumed from records (which it has not beaten), or why that file cannot be pointed at; null when it has no best.</summary>
    public static string? BestCheckpoint(ExperimentStatus status) => (status.BestCheckpoint, status.EarlierBest) switch
    {
        ({ } own, null) => $"step {own.Step}: {own.Path}",
        ({ } earlier, not null) => $"step {earlier.Step}: {earlier.Path} (written by the run this one resumed from; no validation of this run has beaten it)",
        (null, { Problem: { } problem }) => $"none: {problem}",
        _ => null,
    };
}
