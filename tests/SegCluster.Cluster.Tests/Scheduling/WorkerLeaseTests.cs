using Microsoft.Extensions.Time.Testing;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// `eval --cluster` runs on workers outside the scheduler's gangs: it leases them, so no experiment or sweep is started
/// on the devices it evaluates on (before, a submission could land on a worker mid-evaluation, two jobs on one GPU), and
/// a lease its process stopped renewing lapses, so a killed CLI does not keep them.
/// </summary>
public sealed class WorkerLeaseTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Leased_workers_are_held_from_experiments_sweeps_and_other_leases_until_released()
    {
        var starts = new ExperimentStarts();
        await using var cluster = await SchedulerClusters.StartAsync(starts);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var workers = SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 3);
        await scheduler.RegisterWorkersAsync(workers);

        var leased = await scheduler.LeaseAsync("eval#a", max: 2, min: 1, device: null, Minute);
        var experiment = await scheduler.SubmitAsync("exp", new ExperimentSpec { Workers = 2 });
        var sweep = await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.ReserveAsync("s1", leased));
        var second = await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.LeaseAsync("eval#b", max: 2, min: 2, device: null, Minute));
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.LeaseAsync("eval#a", max: 1, min: 1, device: null, Minute));
        var cuda = await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.LeaseAsync("eval#c", max: 1, min: 1, device: "cuda", Minute));

        Assert.Equal(2, leased.Count);
        Assert.Equal((false, 1), (experiment.Started, experiment.QueuePosition));  // one worker free, two needed
        Assert.Contains($"{leased[0]} (held by eval#a)", sweep.Message);
        Assert.Contains("1 free worker(s) of 3, 2 needed", second.Message);
        Assert.Contains("already holds workers", again.Message);
        Assert.Contains("0 free cuda worker(s)", cuda.Message);
        var holders = await SchedulerClusters.AllocationsAsync(scheduler);
        Assert.Equal(["eval#a", "eval#a"], leased.Select(w => holders[w]));
        Assert.Equal(2, holders.Values.Count(h => h is not null));  // the refused calls hold nothing

        await scheduler.ReleaseAsync("eval#a");
        await starts.Reached("exp").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await SchedulerClusters.AllocationsAsync(scheduler)).Values.Count(h => h == "exp"));
        Assert.False(await scheduler.RenewLeaseAsync("eval#a", Minute));  // released: nothing to renew
    }

    [Fact]
    public async Task A_check_frees_a_lapsed_lease_and_keeps_a_renewed_one()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
        await using var cluster = await SchedulerClusters.StartAsync(new ExperimentStarts(), clock: clock);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var workers = SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2);
        await scheduler.RegisterWorkersAsync(workers);
        var lapsing = await scheduler.LeaseAsync("eval#dead", max: 1, min: 1, device: null, Minute);
        var renewed = await scheduler.LeaseAsync("eval#alive", max: 1, min: 1, device: null, Minute);

        clock.Advance(TimeSpan.FromSeconds(50));
        await scheduler.CheckAsync();  // neither lapsed yet
        Assert.All((await SchedulerClusters.AllocationsAsync(scheduler)).Values, Assert.NotNull);
        Assert.True(await scheduler.RenewLeaseAsync("eval#alive", Minute));
        clock.Advance(TimeSpan.FromSeconds(20));  // 70 s after the leases, 20 s after the renewal
        await scheduler.CheckAsync();

        var holders = await SchedulerClusters.AllocationsAsync(scheduler);
        Assert.Null(holders[lapsing[0]]);
        Assert.Equal("eval#alive", holders[renewed[0]]);
        Assert.False(await scheduler.RenewLeaseAsync("eval#dead", Minute));
    }

    /// <summary>A check releases after the slowest holder answers (up to 5 s): before, a lease it found lapsed was released
    /// even when its renewal came in meanwhile (a CLI renewing late), under the evaluation that still runs.</summary>
    [Fact]
    public async Task A_lease_renewed_while_a_check_asks_is_kept()
    {
        var starts = new ExperimentStarts();
        await using var cluster = await SchedulerClusters.StartAsync(starts);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2));
        Assert.True((await scheduler.SubmitAsync("slow", new ExperimentSpec { Workers = 1 })).Started);
        var leased = await scheduler.LeaseAsync("eval#late", max: 1, min: 1, device: null, TimeSpan.FromTicks(1));  // lapsed at once
        starts.GateStatus("slow");

        var check = scheduler.CheckAsync();
        await starts.StatusAsked("slow").WaitAsync(TimeSpan.FromSeconds(30));  // the lease was found lapsed; "slow" has not answered
        Assert.True(await scheduler.RenewLeaseAsync("eval#late", Minute));
        starts.OpenStatus("slow");
        await check;

        Assert.Equal("eval#late", (await SchedulerClusters.AllocationsAsync(scheduler))[leased[0]]);
    }
}
