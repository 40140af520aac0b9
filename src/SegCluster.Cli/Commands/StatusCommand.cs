using System.CommandLine;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using Spectre.Console;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster status [ID]`: one experiment, or the scheduler's workers and queue.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var id = new Argument<string?>("ID") { Description = "Experiment id; without it, the cluster's workers and queue.", Arity = ArgumentArity.ZeroOrOne };
        var remote = new RemoteClusterOptions();
        var command = new Command("status", "Show an experiment, or the cluster's workers, allocations and queue.") { id };
        remote.AddTo(command);
        command.SetAction((parse, cancellationToken) => remote.RunAsync(parse, async client =>
        {
            var console = AnsiConsole.Console;
            if (parse.GetValue(id) is { } experimentId)
            {
                switch (await ExperimentLookup.FindAsync(client, experimentId))
                {
                    case null:
                        Console.Error.WriteLine($"error: no experiment '{experimentId}' on this cluster.");
                        return 1;
                    case { QueuePosition: { } position }:
                        var why = (await client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).GetSnapshotAsync()).Waiting.GetValueOrDefault(experimentId);
                        console.WriteLine($"experiment {experimentId} is queued at position {position}{(why is null ? "" : $": {why}")}");
                        return 0;
                    case { Status: var status }:
                        ExperimentStatusView.Write(console, status);
                        return 0;
                }
            }
            var snapshot = await client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).GetSnapshotAsync();
            var table = new Table().AddColumns("worker", "node", "device", "experiment");
            foreach (var w in snapshot.Workers)
                table.AddRow(Markup.Escape(w.Worker.WorkerId), Markup.Escape(w.Worker.NodeId), Markup.Escape(w.Worker.Device), Markup.Escape(w.ExperimentId ?? "free"));
            console.Write(table);
            console.WriteLine($"queue: {(snapshot.Queue.Count == 0 ? "empty" : string.Join(", ", snapshot.Queue))}");
            foreach (var (queued, why) in snapshot.Waiting) console.WriteLine($"  {queued}: {why}");
            return 0;
        }, cancellationToken));
        return command;
    }
}
