using System.CommandLine;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Remote;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster cancel ID`: stops a running experiment at its next step boundary, or drops it from the queue; or
/// cancels a sweep (its running trials stop, pending ones are marked cancelled; `sweep --resume ID` runs them later).</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "Experiment id, or sweep id (`status` shows a sweep's workers as held by sweep#ID)." };
        var remote = new RemoteClusterOptions();
        var command = new Command("cancel", "Cancel a running or queued experiment, or a sweep.") { id };
        remote.AddTo(command);
        command.SetAction((parse, cancellationToken) => remote.RunAsync(parse, async client =>
        {
            var given = parse.GetValue(id)!;
            // What status prints for a sweep's workers (sweep#ID) names the sweep too.
            var sweepId = ISchedulerGrain.IsSweepHolder(given, out var held) ? held : given;
            var sweep = client.GetGrain<ISweepGrain>(sweepId);
            if (await ExperimentLookup.FindAsync(client, given) is null && (await sweep.GetStatusAsync()).Spec is not null)
            {
                await sweep.CancelAsync();
                Console.WriteLine($"sweep {sweepId}: {(await sweep.GetStatusAsync()).State.ToString().ToLowerInvariant()}");
                return 0;
            }
            var state = await CancelAsync(client, given);
            Console.WriteLine($"experiment {given}: {state.ToString().ToLowerInvariant()}");
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
            throw new ArgumentException($"no experiment or sweep '{experimentId}' on this cluster; `segcluster status` lists the running and queued experiments, and the workers sweeps hold (sweep#ID).");
        var experiment = grains.GetGrain<IExperimentGrain>(experimentId);
        await experiment.CancelAsync();
        return (await experiment.GetStatusAsync()).State;
    }
}
