using System.CommandLine;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using Spectre.Console;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster train SPEC`: with --cluster, submits the spec to the cluster's scheduler (gang allocation or
/// the queue) and follows it; without, runs the same spec on an embedded in-process cluster.
/// </summary>
public static class TrainCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var specFile = new Argument<FileInfo>("SPEC") { Description = "Experiment spec, YAML or JSON." };
        var id = new Option<string?>("--id") { Description = "Experiment id (default: the spec's name and the UTC time)." };
        // As the scheduler refuses (RunIds): the id names the run's checkpoint folder.
        id.Check(value => value is null ? null : RunIds.Problem(value, "--id"));
        var detach = new Option<bool>("--detach") { Description = "Submit and return; follow with `segcluster status ID`." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for result.json and the spec.yaml of the run (embedded runs).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("out", "train")) };
        var dryRun = DryRunOption.Create("the spec, its dataset folder and starting checkpoint, --out; with --cluster the spec only: the nodes check the files on submit");
        var overrides = SpecOverrideOption.Create();
        var startingCheckpoint = new StartingCheckpointOptions();
        var remote = new RemoteClusterOptions();
        var command = new Command("train", "Train an experiment spec on a cluster (--cluster) or on an embedded local cluster.") { specFile, id, detach, output, overrides, dryRun };
        startingCheckpoint.AddTo(command);
        remote.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(detach) && parse.GetValue(remote.Cluster) is null)
            {
                Console.Error.WriteLine("error: --detach needs --cluster (an embedded run ends with the command)");
                return 2;
            }
            ExperimentSpec spec;
            try
            {
                spec = SpecFiles.LoadExperiment(parse.GetValue(specFile)!.FullName, startingCheckpoint.WithOverrides(parse, overrides));
            }
            catch (Exception e) when (e is SpecFileException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            // LoadExperiment validated the text and the overrides; the embedded runner checks the dataset folder and the
            // starting checkpoint before its cluster starts (a cluster's node does on submit).
            if (parse.GetValue(remote.Cluster) is null)
                return await QuickstartRunner.RunAsync(spec, parse.GetValue(id), metricsPort: 0, parse.GetValue(output)!, TimeSpan.Zero, cancellationToken,
                    dryRun: parse.GetValue(dryRun));
            var experimentId = parse.GetValue(id) ?? RunIds.Timestamped(spec.Name);
            if (parse.GetValue(dryRun))
            {
                // The dataset folder and the checkpoint are the nodes' files: their scheduler checks them on submit.
                QuickstartRunner.WriteBanner(AnsiConsole.Console, spec, experimentId, startStep: 0, embedded: false);
                return DryRunOption.Passed($"the spec passed; the nodes of {remote.Address(parse).Redis} check its dataset folder and starting checkpoint on submit");
            }
            return await remote.RunAsync(parse, client => SubmitAsync(client, experimentId, spec, parse.GetValue(detach), remote.Address(parse), cancellationToken), cancellationToken);
        });
        return command;
    }

    private static async Task<int> SubmitAsync(IClusterClient client, string experimentId, ExperimentSpec spec, bool detach, ClusterAddress cluster,
        CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var ticket = await client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).SubmitAsync(experimentId, spec);
        if (ticket.Started) console.MarkupLineInterpolated($"experiment [bold]{experimentId}[/] started on {string.Join(", ", ticket.Workers)}");
        else console.MarkupLineInterpolated($"experiment [bold]{experimentId}[/] queued at position {ticket.QueuePosition}{(ticket.Waiting is { } why ? $": {why}" : "")}");
        if (detach) return 0;
        ExperimentStatus status;
        try
        {
            status = await TrainingProgress.FollowAsync(console, client.GetGrain<IExperimentGrain>(experimentId), PollInterval, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // As `ray job submit` and `kubectl logs -f`: Ctrl+C stops following a cluster job, it does not stop the job.
            // Plain lines, not the console's markup: a command to copy must not be wrapped.
            Console.WriteLine($"stopped following; experiment {experimentId} keeps running on the cluster");
            Console.WriteLine($"follow it: segcluster status {experimentId} {cluster.Arguments}");
            Console.WriteLine($"stop it:   segcluster cancel {experimentId} {cluster.Arguments}");
            return 130;
        }
        ExperimentStatusView.Write(console, status);
        return status.State == ExperimentState.Completed ? 0 : 1;
    }
}
