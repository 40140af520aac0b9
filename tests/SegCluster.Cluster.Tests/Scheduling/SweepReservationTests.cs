using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Grains;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// A sweep starts its trials on its workers outside the scheduler's gangs, so it holds them in the scheduler: an
/// experiment, `eval` or another sweep is not given them (they waited for a worker the sweep was using, and a trial or
/// the experiment failed "busy"), until the sweep releases them, or a check finds the sweep is not running.
/// </summary>
public sealed class SweepReservationTests
{
    [Fact]
    public async Task A_sweeps_workers_are_held_from_experiments_and_other_sweeps_until_it_releases_them()
    {
        var starts = new ExperimentStarts();
        await using var cluster = await SchedulerClusters.StartAsync(starts);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var workers = SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 3);
        await scheduler.RegisterWorkersAsync(workers);
        var (w0, w1, w2) = (workers[0].WorkerId, workers[1].WorkerId, workers[2].WorkerId);

        await scheduler.ReserveAsync("s1", [w0, w1]);
        await scheduler.ReserveAsync("s1", [w0, w1]);  // again (a resumed sweep): idempotent
        var experiment = await scheduler.SubmitAsync("exp", new ExperimentSpec { Workers = 2 });
        var other = await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.ReserveAsync("s2", [w1, w2]));

        Assert.Equal((false, 1), (experiment.Started, experiment.QueuePosition));  // one worker free, two needed
        Assert.Contains($"{w1} (held by sweep#s1)", other.Message);
        var holders = await SchedulerClusters.AllocationsAsync(scheduler);
        Assert.Equal(("sweep#s1", "sweep#s1", (string?)null), (holders[w0], holders[w1], holders[w2]));  // s2 holds nothing

        await scheduler.ReleaseAsync(ISchedulerGrain.SweepHolder("s1"));
        await starts.Reached("exp").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await SchedulerClusters.AllocationsAsync(scheduler)).Values.Count(h => h == "exp"));
    }

    [Fact]
    public async Task A_check_frees_the_workers_of_a_sweep_that_does_not_run()
    {
        await using var cluster = await StartWithSweepsAsync(new ExperimentStarts());
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var workers = SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2);
        await scheduler.RegisterWorkersAsync(workers);

        await scheduler.ReserveAsync("never-recorded", [workers[0].WorkerId]);  // its start failed after holding them
        Assert.Equal("sweep#never-recorded", (await SchedulerClusters.AllocationsAsync(scheduler))[workers[0].WorkerId]);
        await scheduler.CheckAsync();

        Assert.All((await SchedulerClusters.AllocationsAsync(scheduler)).Values, Assert.Null);
    }

    /// <summary>
    /// A check asks every holder at once and releases after the slowest answers (up to 5 s). Before, a sweep that said it
    /// was not running, then was resumed meanwhile (`sweep --resume` sets it running, then reserves its workers: no change,
    /// the hold being there), was released by that check from its stale answer, and the running sweep's workers looked free.
    /// The reservation here stands for the resume: it is what the scheduler sees of it.
    /// </summary>
    [Fact]
    public async Task A_check_keeps_the_workers_of_a_sweep_that_reserved_them_while_it_asked()
    {
        var starts = new ExperimentStarts();
        await using var cluster = await StartWithSweepsAsync(starts);
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2));
        Assert.True((await scheduler.SubmitAsync("slow", new ExperimentSpec { Workers = 1 })).Started);
        var worker = (await SchedulerClusters.AllocationsAsync(scheduler)).Single(h => h.Value is null).Key;
        await scheduler.ReserveAsync("resumed", [worker]);  // not recorded: says it is not running
        starts.GateStatus("slow");

        var check = scheduler.CheckAsync();
        await starts.StatusAsked("slow").WaitAsync(TimeSpan.FromSeconds(30));  // every holder is asked; "slow" has not answered
        await scheduler.ReserveAsync("resumed", [worker]);
        starts.OpenStatus("slow");
        await check;

        Assert.Equal("sweep#resumed", (await SchedulerClusters.AllocationsAsync(scheduler))[worker]);
    }

    private static Task<Orleans.TestingHost.InProcessTestCluster> StartWithSweepsAsync(ExperimentStarts starts) =>
        SchedulerClusters.StartAsync(starts, silo =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Scheduler);
            silo.AddMemoryGrainStorage(ClusterStorage.Sweeps);
        });
}
