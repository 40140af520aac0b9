using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Grains;
using SegCluster.Tests.Shared;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// The real scheduler on the real Redis grain storage (redis-server) while Redis refuses writes (at its memory limit,
/// as a full or failing-over Redis does): a submission whose record cannot be written fails, and the gang it was given
/// in memory is not kept. Before, the activation went on with the allocation that storage never took, so the workers
/// stayed held by an experiment that never started and every later submission queued behind it.
/// </summary>
public sealed class SchedulerStorageFailureTests
{
    [RequiresRedisFact]
    public async Task A_submission_whose_record_cannot_be_written_gives_its_gang_back()
    {
        await using var setup = await RedisScheduler.StartAsync();
        var (redis, starts, scheduler) = (setup.Redis, setup.Starts, setup.Scheduler);

        await redis.RefuseWritesAsync();
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => scheduler.SubmitAsync("unwritten", new ExperimentSpec { Workers = 2 }));
        await redis.RefuseWritesAsync(false);
        var next = await scheduler.SubmitAsync("next", new ExperimentSpec { Workers = 2 });

        Assert.Contains("OOM", failed.ToString());
        Assert.DoesNotContain(starts.Launches, l => l.ExperimentId == "unwritten");
        Assert.True(next.Started, $"'next' was queued at {next.QueuePosition}: the unwritten submission still holds the workers");
        Assert.All((await SchedulerClusters.AllocationsAsync(scheduler)).Values, holder => Assert.Equal("next", holder));
    }

    /// <summary>
    /// An ended run calls ReleaseAsync once. When that call's write fails, the scheduler reloads the record that still
    /// gives the run its gang, and the run, already final, never calls again: before, nothing freed the workers and the
    /// strict-FIFO queue waited behind them for good. The periodic check (every node's heartbeat) asks the holders of
    /// workers for their state and releases those that ended.
    /// </summary>
    [RequiresRedisFact]
    public async Task The_gang_of_a_run_whose_release_failed_is_freed_by_the_next_check_and_the_queue_moves()
    {
        await using var setup = await RedisScheduler.StartAsync();
        var (redis, starts, scheduler) = (setup.Redis, setup.Starts, setup.Scheduler);
        Assert.True((await scheduler.SubmitAsync("ended", new ExperimentSpec { Workers = 2 })).Started);
        Assert.False((await scheduler.SubmitAsync("waiting", new ExperimentSpec { Workers = 2 })).Started);

        starts.End("ended");
        await redis.RefuseWritesAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => scheduler.ReleaseAsync("ended"));  // the run's one release
        await redis.RefuseWritesAsync(false);
        Assert.All((await SchedulerClusters.AllocationsAsync(scheduler)).Values, holder => Assert.Equal("ended", holder));

        await scheduler.CheckAsync();

        Assert.False((await SchedulerClusters.AllocationsAsync(scheduler)).ContainsValue("ended"),
            "after a check the ended run still holds its workers: its lost release is never made up for");
        await starts.Reached("waiting").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["ended", "waiting"], starts.Launches.Select(l => l.ExperimentId));
    }

    /// <summary>The real scheduler on the real Redis grain storage, with two workers of the silo's node registered.</summary>
    private sealed class RedisScheduler(RedisServer redis, InProcessTestCluster cluster, ExperimentStarts starts) : IAsyncDisposable
    {
        public RedisServer Redis => redis;
        public ExperimentStarts Starts => starts;
        public ISchedulerGrain Scheduler => cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);

        public static async Task<RedisScheduler> StartAsync()
        {
            var redis = await RedisServer.StartAsync();
            var starts = new ExperimentStarts();
            var cluster = await SchedulerClusters.StartAsync(starts, silo => silo.AddSegClusterRedisGrainStorage(ConfigurationOptions.Parse(redis.Address)));
            var setup = new RedisScheduler(redis, cluster, starts);
            await setup.Scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2));
            return setup;
        }

        public async ValueTask DisposeAsync()
        {
            await cluster.DisposeAsync();
            await redis.DisposeAsync();
        }
    }
}
