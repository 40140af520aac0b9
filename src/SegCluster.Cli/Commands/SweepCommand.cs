using System.CommandLine;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using SegCluster.Cli.Sweeps;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster sweep SPEC [--cluster HOST:PORT]`: runs a sweep document on an embedded cluster, or on the free
/// workers of a running one, with live progress, and writes a report folder; `--resume SWEEP` runs what did not finish.</summary>
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
            Description = "Resume a sweep whose process ended or was cancelled (its report folder, id, or name for the latest run under --out; " +
                          "with --cluster its id, or a report folder of it here): unfinished trials run again, from their last checkpoint when they wrote one; finished ones keep their results.",
        };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "With --resume: run the failed trials again too (each with max_failures automatic retries afresh)." };
        var workers = new Option<int?>("--workers") { Description = "Workers of the embedded cluster, or at most this many free workers of --cluster (default: min(max_concurrent_trials, trials) × workers_per_trial; embedded on CPU at most one worker a core)." };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics and /health while the sweep runs (0 = any free port).", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder under which the report folder SWEEP_ID/ is written.", DefaultValueFactory = _ => DefaultRoot };
        var dryRun = DryRunOption.Create("the spec, its trials as the sweep expands them, the base's dataset folder and starting checkpoint, --out");
        workers.Check(v => v is < 1 ? "--workers must be at least 1." : null);
        metricsPort.Check(v => v is < 0 or > 65535 ? "--metrics-port must be 0 to 65535." : null);

        var command = new Command("sweep", "Run a hyperparameter / label-grid sweep on an embedded cluster or a running one: live progress, results table, report folder with plots.")
        {
            specFile, resume, retryFailed, workers, metricsPort, output, dryRun,
        };
        var remote = new RemoteClusterOptions();
        remote.AddTo(command);
        command.Validators.Add(r =>
        {
            var (hasSpec, resuming) = (r.GetValue(specFile) is not null, r.GetValue(resume) is not null);
            if (hasSpec == resuming) r.AddError(hasSpec ? "Give SPEC or --resume, not both: a resumed sweep runs the spec it started with." : "Give a sweep SPEC file, or --resume SWEEP.");
            if (r.GetValue(retryFailed) && !resuming) r.AddError("--retry-failed goes with --resume SWEEP.");
            if (r.GetValue(dryRun) && resuming) r.AddError("--dry-run checks a new sweep's SPEC; a resumed sweep runs the spec it started with.");
            // Given, not their values: a value that does not parse is the parser's error, and reading it here would throw.
            if (resuming && r.GetResult(workers) is { Implicit: false }) r.AddError("--workers cannot be given with --resume: a sweep resumes on the workers it started with.");
            if (r.GetResult(metricsPort) is { Implicit: false } && !string.IsNullOrWhiteSpace(r.GetValue(remote.Cluster)))
                r.AddError("--metrics-port is the embedded cluster's; with --cluster the nodes serve /metrics.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var redis = parse.GetValue(remote.Cluster);
            var root = parse.GetValue(output)!;
            if (!string.IsNullOrWhiteSpace(redis))
            {
                // The trials run on the cluster's nodes, which keep the sweep's state (Redis); the report is written here.
                if (!OutputFolder.IsWritable(root)) return 2;
                if (parse.GetValue(resume) is { } given)
                {
                    // A report folder or a name whose latest run reported here stands for its id; anything else is taken as the id.
                    var id = SweepFolders.Find(given, root, out _)?.Name ?? given;
                    return await remote.RunAsync(parse, client => SweepRunner.ResumeOnClusterAsync(client, id, parse.GetValue(retryFailed),
                        remote.Address(parse), root, cancellationToken), cancellationToken);
                }
                // No cap by this machine's cores: the workers are the cluster's.
                if (SweepSpecArguments.Load(parse.GetValue(specFile)!, parse.GetValue(workers), cores: int.MaxValue) is not { } onCluster) return 2;
                // The base's files are the nodes': their scheduler checks each trial's on submit.
                if (parse.GetValue(dryRun)) return SweepRunner.DryRun(onCluster.Spec, $"up to {onCluster.Workers} free workers of the cluster at {remote.Address(parse).Redis}");
                return await remote.RunAsync(parse, async client => await SweepRunner.RunOnClusterAsync(onCluster.Spec, client,
                    await FreeWorkers.TakeAsync(client, onCluster.Workers, min: onCluster.Spec.WorkersPerTrial, device: onCluster.Spec.Base.Device),
                    remote.Address(parse), root, cancellationToken), cancellationToken);
            }
            if (parse.GetValue(resume) is { } sweep)
            {
                if (SweepFolders.FindResumable(sweep, root, out var notFound) is not { } folder
                    || SweepStateFolder.Read(folder, out notFound) is not { } state)
                {
                    Console.Error.WriteLine($"error: {notFound}");
                    return 2;
                }
                return await SweepRunner.ResumeAsync(state, parse.GetValue(retryFailed), parse.GetValue(metricsPort), cancellationToken);
            }
            if (SweepSpecArguments.Load(parse.GetValue(specFile)!, parse.GetValue(workers)) is not { } loaded
                || !await SweepSpecArguments.PreflightAsync(loaded.Spec)) return 2;
            if (!OutputFolder.IsWritable(root)) return 2;
            if (parse.GetValue(dryRun)) return SweepRunner.DryRun(loaded.Spec, SweepRunner.Embedded(loaded.Workers));
            return await SweepRunner.RunAsync(loaded.Spec, loaded.Workers, parse.GetValue(metricsPort), root, cancellationToken);
        });
        return command;
    }
}
