using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Output;
using Spectre.Console;

namespace SegCluster.Cli.Embedded;

/// <summary>Runs one experiment on an embedded cluster with a progress bar, then prints and saves the result.</summary>
public static class QuickstartRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static async Task<int> RunAsync(ExperimentSpec spec, int metricsPort, DirectoryInfo output, TimeSpan linger, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        // Derived quantities up front, as torchtitan prints them.
        console.MarkupLineInterpolated(
            $"[bold]SegCluster {spec.Name}[/]: {spec.Model.Name} on {RunSummary.Dataset(spec.Dataset)}; {spec.Workers} worker(s) on {spec.Device} × batch {spec.Training.BatchPerWorker} = global batch {spec.Workers * spec.Training.BatchPerWorker}; {spec.TotalSteps} steps; norm {spec.Model.NormFor(spec.Workers)}{(spec.Model.Norm is null ? " (derived: " + spec.Workers + " worker(s))" : "")}; {WireLine(spec)}");

        EmbeddedCluster cluster;
        try
        {
            // One node sums its workers in memory, where no wire exists: a chosen wire means the loopback ring.
            cluster = await EmbeddedCluster.StartAsync(spec.Workers, spec.Device, metricsPort, cancellationToken,
                spec.Training.Wire is null ? null : EmbeddedCluster.NetworkRing);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        await using (cluster)
        {
            console.MarkupLineInterpolated($"metrics: {cluster.MetricsUri}");
            var experimentId = $"{spec.Name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
            var experiment = cluster.Grains.GetGrain<IExperimentGrain>(experimentId);
            try
            {
                await experiment.StartAsync(spec, cluster.WorkerIds);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            ExperimentStatus status;
            try
            {
                status = await TrainingProgress.FollowAsync(console, experiment, PollInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await experiment.CancelAsync();  // the in-process cluster ends with this process: stop its workers cleanly
                throw;
            }

            if (status.State != ExperimentState.Completed || status.Evaluation is null)
            {
                Console.Error.WriteLine($"error: experiment {experimentId} {status.State.ToString().ToLowerInvariant()}: {status.Error}");
                return 1;
            }
            var result = QuickstartResult.From(spec, status);
            ResultTable.Write(console, result);
            var path = await result.WriteAsync(output, cancellationToken);
            console.MarkupLineInterpolated($"wrote {path}");
            if (status.Checkpoint is { } checkpoint)
                console.MarkupLineInterpolated($"checkpoint: {checkpoint.Path} (evaluate: {RunSummary.EvaluateCommand(spec, checkpoint.Path)})");
            if (linger > TimeSpan.Zero)
            {
                // The final mIoU and experiment state exist only after the run; a scraper needs the node up to see them.
                console.MarkupLineInterpolated($"serving {cluster.MetricsUri} for {linger.TotalSeconds:F0} s more");
                await Task.Delay(linger, cancellationToken);
            }
            return 0;
        }
    }

    private static string WireLine(ExperimentSpec spec) => spec.Training.Wire is { } wire
        ? $"wire {wire} (workers reduce over the loopback network ring)"
        : "reduction in memory (one node, no wire; --wire fp32|fp16 uses the loopback ring)";
}
