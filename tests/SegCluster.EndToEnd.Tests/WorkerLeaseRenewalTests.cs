using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Remote;
using SegCluster.Cluster.Scheduling;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The CLI's side of a worker lease (`eval --cluster`) on a real embedded cluster: it is renewed while the command
/// runs, so the scheduler's checks keep it past its duration, and given back when the command ends; a lease the scheduler
/// no longer holds cancels <see cref="WorkerLease.Lost"/>, so the work stops instead of sharing the devices. The lease's
/// renewals and the scheduler's lease clock run on one fake clock the test advances.</summary>
public sealed class WorkerLeaseRenewalTests
{
    /// <summary>Renewed every third of it.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromMinutes(1);

    /// <summary>Fails a wait that hangs (a renewal never sent, a loss never noticed); not a bound on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_lease_is_renewed_while_held_and_given_back_on_dispose()
    {
        var clock = NewClock();
        var renewals = new RenewalsAnswered();
        await using var cluster = await EmbeddedCluster.StartAsync(2, "cpu", httpPort: 0, pickPort: null, CancellationToken.None, services: services =>
        {
            services.AddKeyedSingleton<TimeProvider>(SchedulerGrain.LeaseClock, clock);
            services.AddSingleton<IIncomingGrainCallFilter>(renewals);
        });
        var scheduler = await RegisteredAsync(cluster);
        async Task<string?[]> HoldersAsync() => [.. (await scheduler.GetSnapshotAsync()).Workers.Select(w => w.ExperimentId)];

        var lease = await WorkerLease.TakeAsync(cluster.Grains, "eval", max: 1, duration: Duration, time: clock);
        for (var third = 1; third <= 6; third++)  // twice its duration: only renewals keep it
        {
            clock.Advance(Duration / 3);
            await renewals.Next.WaitAsync(HangGuard);  // this tick's renewal reached the scheduler before the clock moves on
        }
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
        var clock = NewClock();
        await using var cluster = await EmbeddedCluster.StartAsync(1, "cpu", httpPort: 0, CancellationToken.None);
        var scheduler = await RegisteredAsync(cluster);
        await using var lease = await WorkerLease.TakeAsync(cluster.Grains, "eval", max: 1, duration: Duration, time: clock);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = lease.Lost.Register(() => lost.TrySetResult());

        await scheduler.ReleaseAsync(lease.Holder);  // as a check does with a lease whose renewals failed for its duration
        Assert.False(lease.Lost.IsCancellationRequested);  // noticed at the next renewal
        clock.Advance(Duration / 3);
        await lost.Task.WaitAsync(HangGuard);

        Assert.Contains($"no longer holds workers {cluster.WorkerIds[0]} for {lease.Holder}", lease.LostReason);
    }

    private static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    /// <summary>The scheduler, once the node's first heartbeat (which may come after the cluster started) registered its workers.</summary>
    private static async Task<ISchedulerGrain> RegisteredAsync(EmbeddedCluster cluster)
    {
        var scheduler = cluster.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await ExperimentPolling.UntilAsync(async () => (await scheduler.GetSnapshotAsync()).Workers.Count == cluster.WorkerIds.Count,
            "the workers were never registered");
        return scheduler;
    }

    /// <summary>Counts the scheduler's answered lease renewals, for the test to await one at a time.</summary>
    private sealed class RenewalsAnswered : IIncomingGrainCallFilter
    {
        private readonly SemaphoreSlim _answered = new(0);

        public Task Next => _answered.WaitAsync();

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod?.Name == nameof(ISchedulerGrain.RenewLeaseAsync)) _answered.Release();
        }
    }
}
