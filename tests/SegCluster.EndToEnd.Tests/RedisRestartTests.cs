using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Redis is the cluster's membership table and grain store. Restarted mid-training (kill -9, then the same port
/// and append-only file), the nodes reconnect and the experiment completes with its final metrics recorded.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisRestartTests
{
    private const int Steps = 9, CheckpointEvery = 3;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);

    [RequiresRedisFact]
    public async Task Restarting_redis_mid_training_the_cluster_carries_on_and_the_run_completes()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 2, persistentRedis: true);
        var spec = cluster.WriteSpec(Steps, CheckpointEvery);
        var submitted = await cluster.CliAsync(TimeSpan.FromMinutes(2), "train", spec, "--id", "redis-restart", "--detach");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);

        await cluster.WaitForAsync("redis-restart", s => s.GetProperty("checkpoint").ValueKind == JsonValueKind.Object, RunTimeout);
        await cluster.Redis.RestartAsync();

        var final = await cluster.WaitForAsync("redis-restart",
            s => s.GetProperty("state").GetString() is "Completed" or "Failed" or "Cancelled", RunTimeout);
        Assert.True(final.GetProperty("state").GetString() == "Completed", $"{final}\n{cluster.NodeLogs()}");
        Assert.True(final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble() > 0, $"no final metrics: {final}");
        // The inventory survived too: both nodes' workers are still known after the restart.
        await cluster.WaitForWorkersAsync(2, TimeSpan.FromMinutes(1));
    }
}
