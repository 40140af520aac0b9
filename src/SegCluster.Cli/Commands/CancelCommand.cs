using System.CommandLine;
using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Remote;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster cancel ID`: stops a running experiment at its next step boundary, or drops it from the queue.</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "Experiment id." };
        var remote = new RemoteClusterOptions();
        var command = new Command("cancel", "Cancel a running or queued experiment.") { id };
        remote.AddTo(command);
        command.SetAction((parse, cancellationToken) => remote.RunAsync(parse, async client =>
        {
            var experimentId = parse.GetValue(id)!;
            await client.GetGrain<IExperimentGrain>(experimentId).CancelAsync();
            var status = await client.GetGrain<IExperimentGrain>(experimentId).GetStatusAsync();
            Console.WriteLine($"experiment {experimentId}: {status.State.ToString().ToLowerInvariant()}");
            return 0;
        }, cancellationToken));
        return command;
    }
}
