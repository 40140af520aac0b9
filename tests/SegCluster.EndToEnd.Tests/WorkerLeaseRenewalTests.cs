using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Remote;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The CLI's side of a worker lease (`eval --cluster`) on a real embedded cluster: it is renewed while the command
/// runs, so the scheduler's checks keep it past its duration, and given back when the command ends.</summary>
public sealed class WorkerLeaseRenewalTests
{
    [Fact]
    public async Task A_lease_is_renewed_while_held_and_given_back_on_dispose()
    {
        await using var cluster = await EmbeddedCluster.StartAsync(2, "cpu", httpPort: 0, CancellationToken.None);
        var scheduler = cluster.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        async Task<string?[]> HoldersAsync() => [.. (await scheduler.GetSnapshotAsync()).Workers.Select(w => w.ExperimentId)];

        // The node registers its workers on its first heartbeat, which may come after the cluster started.
        await ExperimentPolling.UntilAsync(async () => (await scheduler.GetSnapshotAsync()).Workers.Count == 2, "the workers were never registered");
        var lease = await WorkerLease.TakeAsync(cluster.Grains, "eval", max: 1, duration: TimeSpan.FromMilliseconds(900));
        await Task.Delay(TimeSpan.FromSeconds(2.5));  // well past its duration: only renewals keep it
        await scheduler.CheckAsync();
        var held = await HoldersAsync();
        await lease.DisposeAsync();

        Assert.StartsWith("eval#", lease.Holder);
        Assert.Equal([lease.Holder], held.OfType<string>());
        Assert.All(await HoldersAsync(), Assert.Null);
    }
}
