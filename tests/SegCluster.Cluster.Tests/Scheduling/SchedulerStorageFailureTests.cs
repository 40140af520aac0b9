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
        await using var redis = await RedisServer.StartAsync();
        var starts = new ExperimentStarts();
        await using var cluster = await SchedulerClusters.StartAsync(starts, silo => silo.AddSegClusterRedisGrainStorage(ConfigurationOptions.Parse(redis.Address)));
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 2));

        await redis.RefuseWritesAsync();
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => scheduler.SubmitAsync("unwritten", new ExperimentSpec { Workers = 2 }));
        await redis.RefuseWritesAsync(false);
        var next = await scheduler.SubmitAsync("next", new ExperimentSpec { Workers = 2 });

        Assert.Contains("OOM", failed.ToString());
        Assert.DoesNotContain(starts.Launches, l => l.ExperimentId == "unwritten");
        Assert.True(next.Started, $"'next' was queued at {next.QueuePosition}: the unwritten submission still holds the workers");
        Assert.All((await SchedulerClusters.AllocationsAsync(scheduler)).Values, holder => Assert.Equal("next", holder));
    }
}
