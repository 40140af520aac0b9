using System.CommandLine;
using SegCluster.Cli.Output;
using SegCluster.Cli.Sweeps;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster sweep SPEC`: runs a sweep document on an embedded cluster with live progress and writes a report folder.</summary>
public static class SweepCommand
{
    public static readonly DirectoryInfo DefaultRoot = new(Path.Combine("out", "sweeps"));

    public static Command Create()
    {
        var specFile = new Argument<FileInfo>("SPEC") { Description = "Sweep spec (YAML or JSON): base experiment, axes, search, metric, concurrency." };
        var workers = new Option<int?>("--workers") { Description = "Workers of the embedded cluster (default: min(max_concurrent_trials, trials) × workers_per_trial, on CPU at most one worker a core)." };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics and /health while the sweep runs (0 = any free port).", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder under which the report folder SWEEP_ID/ is written.", DefaultValueFactory = _ => DefaultRoot };
        workers.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--workers must be at least 1."); });
        metricsPort.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 65535) r.AddError("--metrics-port must be 0 to 65535."); });

        var command = new Command("sweep", "Run a hyperparameter / label-grid sweep on an embedded cluster: live progress, results table, report folder with plots.")
        {
            specFile, workers, metricsPort, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (SweepSpecArguments.Load(parse.GetValue(specFile)!, parse.GetValue(workers)) is not { } loaded) return 2;
            if (!OutputFolder.IsWritable(parse.GetValue(output)!)) return 2;
            return await SweepRunner.RunAsync(loaded.Spec, loaded.Workers, parse.GetValue(metricsPort), parse.GetValue(output)!, cancellationToken);
        });
        return command;
    }
}
