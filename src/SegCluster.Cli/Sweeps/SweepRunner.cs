using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Output;
using Spectre.Console;

namespace SegCluster.Cli.Sweeps;

/// <summary>Runs a sweep on an embedded cluster with a live view, then writes the report folder and prints the table.</summary>
public static class SweepRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <returns>Exit code: 0 when the sweep completed with at least one completed trial and its report was written, 1 otherwise,
    /// 130 when cancelled.</returns>
    public static async Task<int> RunAsync(SweepSpec spec, int workers, int metricsPort, DirectoryInfo root, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var trials = SweepValidation.TrialCount(spec);
        console.MarkupLineInterpolated(
            $"[bold]SegCluster sweep[/] {spec.Name}: {trials} trials ({spec.Search.Kind} search), {spec.Metric} ({spec.EffectiveMode}); {spec.MaxConcurrentTrials} concurrent × {spec.WorkersPerTrial} worker(s) on {spec.Base.Device}, {spec.Budget} steps per trial; embedded cluster of {workers} workers");

        EmbeddedCluster cluster;
        try
        {
            cluster = await EmbeddedCluster.StartAsync(workers, spec.Base.Device, metricsPort, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        await using (cluster)
            return (await RunOnAsync(spec, cluster.Grains, cluster.WorkerIds, root, cancellationToken)).Exit;
    }

    /// <summary>Runs the sweep on a started cluster (embedded, or a client of a running one) over <paramref name="workerIds"/>
    /// with the live view, writes the report folder, prints the table.</summary>
    /// <returns>The exit code (as <see cref="RunAsync"/>) and the final status (null when the sweep did not start).</returns>
    public static async Task<(int Exit, SweepStatus? Status)> RunOnAsync(SweepSpec spec, IGrainFactory grains, IReadOnlyList<string> workerIds, DirectoryInfo root, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var sweepId = RunIds.Timestamped(spec.Name);
        var sweep = grains.GetGrain<ISweepGrain>(sweepId);
        SweepStatus status;
        try
        {
            status = await sweep.StartAsync(spec, workerIds);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return (1, null);
        }
        var announced = new HashSet<int>();
        void AnnounceSkips()
        {
            foreach (var skipped in status.Trials.Where(t => t.State == TrialState.Skipped && announced.Add(t.Index)))
                console.MarkupLineInterpolated($"[grey]skipped {skipped.Name}: {skipped.Reason}[/]");
        }
        AnnounceSkips();  // invalid combinations; spectral_skip decides in the sweep's driver, and is announced after the live view

        var cancelled = false;
        await console.Live(SweepLiveView.Render(status)).StartAsync(async live =>
        {
            while (status.State == SweepState.Running)
            {
                try
                {
                    await Task.Delay(PollInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    cancelled = true;
                    await sweep.CancelAsync();
                }
                status = await sweep.GetStatusAsync();
                live.UpdateTarget(SweepLiveView.Render(status));
            }
        });

        AnnounceSkips();
        var report = SweepReport.From(status);
        var folder = new DirectoryInfo(Path.Combine(root.FullName, sweepId));
        console.Write(SweepTable.Create(report, top: 20));  // before the files: a failed write leaves the table
        if (status.Error is { } error) Console.Error.WriteLine($"error: the sweep coordinator failed: {error}");
        var written = await OutputFolder.TryWriteAsync(folder.FullName, async () =>
        {
            await report.WriteAsync(folder, CancellationToken.None);
            var plots = SweepPlots.WriteAll(report, folder);
            console.MarkupLineInterpolated($"wrote {SweepReport.JsonFile}, {SweepReport.CsvFile}{(plots.Count > 0 ? ", " + string.Join(", ", plots) : "")} to {folder.FullName}");
            console.MarkupLineInterpolated($"see it again with: segcluster results {sweepId}");
        });
        if (cancelled) return (130, status);
        return (written && status.State == SweepState.Completed && status.Count(TrialState.Completed) > 0 ? 0 : 1, status);
    }
}
