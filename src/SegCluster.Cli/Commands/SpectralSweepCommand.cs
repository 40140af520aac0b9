using System.CommandLine;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using SegCluster.Cli.Spectral;
using SegCluster.Cli.Sweeps;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster spectral-sweep SPEC [--cluster HOST:PORT]`: analyse the labels on the cluster (embedded, or a running
/// one through its Redis, as `spectral --cluster`), train every label grid × mode of the sweep on its workers, report the
/// advisor's predictions next to the trained figures (PAPERS.md §2).</summary>
public static class SpectralSweepCommand
{
    public static Command Create()
    {
        var specFile = new Argument<FileInfo>("SPEC") { Description = "Sweep spec (YAML or JSON) with a labels.factor grid axis (and usually labels.mode)." };
        var workers = new Option<int?>("--workers") { Description = "Workers of the embedded cluster, or at most this many free workers of --cluster (default: min(max_concurrent_trials, trials) × workers_per_trial, on CPU at most one worker a core)." };
        var images = new Option<int>("--images") { Description = "Training labels the advisor analyses (at most the base dataset's train_count).", DefaultValueFactory = _ => 64 };
        var shards = new Option<int>("--shards") { Description = "Shards of the label analysis.", DefaultValueFactory = _ => 2 };
        var tolerance = new Option<double>("--tolerance") { Description = "Training's own choice of grid: the coarsest factor within this mIoU (fraction) of the finest factor's.", DefaultValueFactory = _ => 0.02 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Report folder (spectral-sweep.json, the plot, analysis/, the sweep's own folder).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("out", "spectral-sweep")) };
        var dryRun = DryRunOption.Create("the spec and its label-grid axis, its trials, the base's dataset folder and starting checkpoint, --out");
        workers.Check(v => v is < 1 ? "--workers must be at least 1." : null);
        images.Check(v => v < 1 ? "--images must be at least 1." : null);
        shards.Check(v => v < 1 ? "--shards must be at least 1." : null);
        tolerance.Check(v => v is < 0 or > 1 ? "--tolerance must be in [0, 1] (0.02 = 2 mIoU points)." : null);

        var command = new Command("spectral-sweep", "Label analysis on the cluster, then a trial per label grid factor × mode: the advisor's predicted figures next to trained mIoU, memory and images/s.")
        {
            specFile, workers, images, shards, tolerance, output, dryRun,
        };
        var targets = new AdvisorTargetOptions();
        targets.AddTo(command);
        var remote = new RemoteClusterOptions();
        remote.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (SweepSpecArguments.Load(parse.GetValue(specFile)!, parse.GetValue(workers)) is not { } loaded) return 2;
            var (spec, size) = loaded;
            var (imageCount, shardCount, within, folder) = (parse.GetValue(images), parse.GetValue(shards), parse.GetValue(tolerance), parse.GetValue(output)!);
            var analysis = new SpectralAnalysisRequest(imageCount, shardCount, targets.Read(parse));
            if (!OutputFolder.IsWritable(folder)) return 2;
            var redis = parse.GetValue(remote.Cluster);
            if (parse.GetValue(dryRun))
            {
                if (!SpectralSweepRunner.IsValid(spec)) return 2;
                var trained = SpectralSweepRunner.EveryGridTrained(spec);
                // As the run: an embedded one checks the base's files here; on a cluster the nodes do.
                if (string.IsNullOrWhiteSpace(redis))
                    return await SweepSpecArguments.PreflightAsync(spec) ? SweepRunner.DryRun(trained, SweepRunner.Embedded(size)) : 2;
                return SweepRunner.DryRun(trained, $"up to {size} free workers of the cluster at {remote.Address(parse).Redis}");
            }
            if (string.IsNullOrWhiteSpace(redis))
                return await SweepSpecArguments.PreflightAsync(spec)
                    ? await SpectralSweepRunner.RunAsync(spec, size, analysis, within, folder, cancellationToken) : 2;
            if (!SpectralSweepRunner.IsValid(spec)) return 2;
            // The analysis and the trials run on the cluster's nodes; the report is written here.
            return await remote.RunAsync(parse, async client => await SpectralSweepRunner.RunOnAsync(spec, client,
                await FreeWorkers.TakeAsync(client, size, min: spec.WorkersPerTrial, device: spec.Base.Device), $"the cluster at {redis}",
                analysis, within, folder, cancellationToken), cancellationToken);
        });
        return command;
    }
}
