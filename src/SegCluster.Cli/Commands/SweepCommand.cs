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
        var specFile = new Argument<FileInfo?>("SPEC")
        {
            Description = "Sweep spec (YAML or JSON): base experiment, axes, search, metric, concurrency. Left out with --resume.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var resume = new Option<string?>("--resume")
        {
            Description = "Resume a sweep whose process ended or was cancelled (its report folder, id, or name for the latest run under --out): " +
                          "unfinished trials run from scratch, finished ones keep their results.",
        };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "With --resume: run the failed trials again too." };
        var workers = new Option<int?>("--workers") { Description = "Workers of the embedded cluster (default: min(max_concurrent_trials, trials) × workers_per_trial, on CPU at most one worker a core)." };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics and /health while the sweep runs (0 = any free port).", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder under which the report folder SWEEP_ID/ is written.", DefaultValueFactory = _ => DefaultRoot };
        workers.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--workers must be at least 1."); });
        metricsPort.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 65535) r.AddError("--metrics-port must be 0 to 65535."); });

        var command = new Command("sweep", "Run a hyperparameter / label-grid sweep on an embedded cluster: live progress, results table, report folder with plots.")
        {
            specFile, resume, retryFailed, workers, metricsPort, output,
        };
        command.Validators.Add(r =>
        {
            var (hasSpec, resuming) = (r.GetValue(specFile) is not null, r.GetValue(resume) is not null);
            if (hasSpec == resuming) r.AddError(hasSpec ? "Give SPEC or --resume, not both: a resumed sweep runs the spec it started with." : "Give a sweep SPEC file, or --resume SWEEP.");
            if (r.GetValue(retryFailed) && !resuming) r.AddError("--retry-failed goes with --resume SWEEP.");
            if (resuming && r.GetValue(workers) is not null) r.AddError("--workers cannot be given with --resume: a sweep resumes on the workers it started with.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(resume) is { } sweep)
            {
                if (SweepFolders.FindResumable(sweep, parse.GetValue(output)!, out var notFound) is not { } folder
                    || SweepStateFolder.Read(folder, out notFound) is not { } state)
                {
                    Console.Error.WriteLine($"error: {notFound}");
                    return 2;
                }
                return await SweepRunner.ResumeAsync(state, parse.GetValue(retryFailed), parse.GetValue(metricsPort), cancellationToken);
            }
            if (SweepSpecArguments.Load(parse.GetValue(specFile)!, parse.GetValue(workers)) is not { } loaded) return 2;
            if (!OutputFolder.IsWritable(parse.GetValue(output)!)) return 2;
            return await SweepRunner.RunAsync(loaded.Spec, loaded.Workers, parse.GetValue(metricsPort), parse.GetValue(output)!, cancellationToken);
        });
        return command;
    }
}
