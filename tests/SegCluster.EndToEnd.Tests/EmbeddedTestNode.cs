using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Embedded;

namespace SegCluster.EndToEnd.Tests;

/// <summary>An embedded node (the real node host in this process: scheduler, experiment and worker grains, gRPC ring)
/// with <c>workers</c> CPU workers, returned once they are registered with the scheduler.</summary>
internal static class EmbeddedTestNode
{
    /// <param name="settings">Further node settings (e.g. <see cref="EmbeddedCluster.NetworkRing"/>).</param>
    public static async Task<EmbeddedCluster> StartAsync(int workers, DirectoryInfo checkpoints, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var overrides = new Dictionary<string, string?> { ["Node:CheckpointDirectory"] = checkpoints.FullName, ["Node:HeartbeatSeconds"] = "0.5" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) overrides[key] = value;
        var node = await EmbeddedCluster.StartAsync(workers, "cpu", httpPort: 0, CancellationToken.None, overrides);
        try
        {
            var scheduler = node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
            await ExperimentPolling.UntilAsync(async () => (await scheduler.GetSnapshotAsync()).Workers.Count == workers,
                $"the node's {workers} workers never registered with the scheduler");
            return node;
        }
        catch
        {
            await node.DisposeAsync();  // the caller never gets it to dispose: stop its silo and ports here
            throw;
        }
    }
}
