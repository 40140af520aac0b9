using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Remote;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The CLI's side of a worker lease (`eval --cluster`) on a real embedded cluster: it is renewed while the command
/// runs, so the scheduler's checks keep it past its duration, and given back when the command ends; a lease the scheduler
/// no longer holds cancels <see cref="WorkerLease.Lost"/>, so the work stops instead of sharing the devices.</summary>
public sealed class WorkerLeaseRenewalTests
{
    /// <summary>Renewed every second: a lapse needs a 3 s gap between renewals, which even a loaded machine does not leave.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_lease_is_renewed_while_held_and_given_back_on_dispose()
    {
        await using var cluster = await EmbeddedCluster.StartAsync(2, "cpu", httpPort: 0, CancellationToken.None);
        var scheduler = await RegisteredAsync(cluster);
        async Task<string?[]> HoldersAsync() => [.. (await scheduler.GetSnapshotAsync()).Workers.Select(w => w.ExperimentId)];

        var lease = await WorkerLease.TakeAsync(cluster.Grains, "eval", max: 1, duration: Duration);
        await Task.Delay(2.5 * Duration);  // well past its duration: only renewals keep it
        await scheduler.CheckAsync();
        var held = await HoldersAsync();
        await lease.DisposeAsync();

        Assert.StartsWith("eval#", lease.Holder);
        Assert.Equal([lease.Holder], held.OfType<string>());
        Assert.False(lease.Lost.IsCancellationRequested);
        Assert.All(await HoldersAsync(), Assert.Null);
    }

    [Fact]
    public async Task A_lease_the_scheduler_freed_is_reported_lost()
    {
        await using var cluster = await EmbeddedCluster.StartAsync(1, "cpu", httpPort: 0, CancellationToken.None);
        var scheduler = await RegisteredAsync(cluster);
        await using var lease = await WorkerLease.TakeAsync(cluster.Grains, "eval", max: 1, duration: Duration);

        await scheduler.ReleaseAsync(lease.Holder);  // as a check does with a lease whose renewals failed for its duration
        await Task.Delay(Timeout.InfiniteTimeSpan, lease.Lost).ContinueWith(_ => { }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains($"no longer holds workers {cluster.WorkerIds[0]} for {lease.Holder}", lease.LostReason);
    }

    /// <summary>The scheduler, once the node's first heartbeat (which may come after the cluster started) registered its workers.</summary>
    private static async Task<ISchedulerGrain> RegisteredAsync(EmbeddedCluster cluster)
    {
        var scheduler = cluster.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await ExperimentPolling.UntilAsync(async () => (await scheduler.GetSnapshotAsync()).Workers.Count == cluster.WorkerIds.Count,
            "the workers were never registered");
        return scheduler;
    }
}
