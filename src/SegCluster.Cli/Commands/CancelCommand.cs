using System.CommandLine;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
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
            var state = await CancelAsync(client, experimentId);
            Console.WriteLine($"experiment {experimentId}: {state.ToString().ToLowerInvariant()}");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Cancels a started or queued experiment and returns its state after the call.</summary>
    /// <exception cref="ArgumentException">Nobody submitted an experiment of this id (a typo would otherwise be
    /// recorded as a cancelled experiment and reported as cancelled).</exception>
    public static async Task<ExperimentState> CancelAsync(IGrainFactory grains, string experimentId)
    {
        if (await ExperimentLookup.FindAsync(grains, experimentId) is null)
            throw new ArgumentException($"no experiment '{experimentId}' on this cluster; `segcluster status` lists the running and queued ones.");
        var experiment = grains.GetGrain<IExperimentGrain>(experimentId);
        await experiment.CancelAsync();
        return (await experiment.GetStatusAsync()).State;
    }
}
