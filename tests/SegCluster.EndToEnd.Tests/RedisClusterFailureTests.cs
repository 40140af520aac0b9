using System.Text.Json;
using static SegCluster.EndToEnd.Tests.ClusterStatusJson;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Three `segcluster node` processes on a real redis-server, a 2-worker experiment of 30 steps with checkpoints every 3.
/// A node is killed with SIGKILL mid-training: the experiment re-forms on the live workers, resumes from the last
/// checkpoint and completes, redoing at most one interval. Redis itself restarted mid-training: the cluster carries on.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterFailureTests
{
    // 30 steps, not 9: the 6 steps after the first checkpoint could end between the poll that saw it and the kill, and
    // the run then finished unbroken (ReformationResumeTests hit that in CI).
    private const int Steps = 30, CheckpointEvery = 3;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);
    /// <summary>How often the run is polled before a node is killed: the kill must land while steps remain.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    [RequiresRedisFact]
    public async Task Killing_a_worker_node_that_is_not_the_coordinator_costs_at_most_one_checkpoint_interval()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 3);
        var (final, victimId, _) = await RunWithAWorkerNodeKilledAsync(cluster);

        Assert.DoesNotContain(Workers(final), w => w.StartsWith(victimId + "/", StringComparison.Ordinal));
        Assert.InRange(final.GetProperty("stepsRedone").GetInt32(), 0, CheckpointEvery);
        Assert.True(final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble() > 0, $"no final metrics: {final}");
        // The finished reference run stays readable after its coordinator's node may have died. Polled: the first
        // call after a kill can meet a 500 while Orleans moves the grain (seen once under load average 39).
        await cluster.WaitForAsync("reference", s => s.GetProperty("state").GetString() == "Completed", TimeSpan.FromMinutes(1));
    }

    // Skipped until 41c5b79: models were built from torch's unseeded global generator, so the reference run and the
    // interrupted run started from different weights (the first momentum value differed). ReformationResumeTests
    // checks the same in one process, with every rank moved to another worker.
    [RequiresRedisFact]
    public async Task Resuming_after_a_worker_node_kill_reproduces_the_uninterrupted_runs_parameters()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 3);
        var (final, _, referenceCheckpoint) = await RunWithAWorkerNodeKilledAsync(cluster);
        // Same weights and momentum as the run that never broke (same seed, same data order).
        Assert.Equal(await File.ReadAllBytesAsync(referenceCheckpoint), await File.ReadAllBytesAsync(CheckpointPath(final)));
    }

    /// <summary>An uninterrupted reference run through `segcluster train` (also the plain "3-node run completes"
    /// case), then the same spec with a non-coordinator worker node killed (kill -9) after the first checkpoint.
    /// Returns the interrupted run's final status (asserted Completed), the victim and the reference's checkpoint.</summary>
    private static async Task<(JsonElement Final, string VictimId, string ReferenceCheckpoint)> RunWithAWorkerNodeKilledAsync(RedisCluster cluster)
    {
        var spec = cluster.WriteSpec(Steps, CheckpointEvery);
        var (exit, stdout, stderr) = await cluster.CliAsync(RunTimeout, "train", spec, "--id", "reference");
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("completed", stdout);
        var referenceCheckpoint = CheckpointPath(await cluster.StatusAsync("reference"));

        var submitted = await cluster.CliAsync(TimeSpan.FromMinutes(2), "train", spec, "--id", "interrupted", "--detach");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);
        var running = await cluster.WaitForAsync("interrupted", s => Checkpoint(s) >= CheckpointEvery, RunTimeout, Poll);
        var coordinator = running.GetProperty("coordinatorNode").GetString();
        var victimId = Workers(running).Select(NodeOf).First(n => n != coordinator);
        cluster.Nodes.Single(n => n.NodeId == victimId).KillHard();

        var final = await cluster.WaitForAsync("interrupted", IsFinal, RunTimeout);
        Assert.True(final.GetProperty("state").GetString() == "Completed", $"{final}\n{cluster.NodeLogs()}");
        // Otherwise the run finished before the kill landed and a resume test would compare two uninterrupted runs.
        Assert.True(final.GetProperty("attempt").GetInt32() >= 2, $"the ring was never re-formed: {final}");
        return (final, victimId, referenceCheckpoint);
    }

    [RequiresRedisFact]
    public async Task Killing_the_coordinators_node_reactivates_it_elsewhere_from_Redis_and_the_run_completes()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 3);
        var spec = cluster.WriteSpec(Steps, CheckpointEvery);
        var submitted = await cluster.CliAsync(TimeSpan.FromMinutes(2), "train", spec, "--id", "coordinator-loss", "--detach");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);

        var running = await cluster.WaitForAsync("coordinator-loss", s => Checkpoint(s) >= CheckpointEvery, RunTimeout, Poll);
        var coordinator = running.GetProperty("coordinatorNode").GetString();
        cluster.Nodes.Single(n => n.NodeId == coordinator).KillHard();

        var final = await cluster.WaitForAsync("coordinator-loss", IsFinal, RunTimeout);
        Assert.True(final.GetProperty("state").GetString() == "Completed", $"{final}\n{cluster.NodeLogs()}");
        Assert.NotEqual(coordinator, final.GetProperty("coordinatorNode").GetString());
        Assert.True(final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble() > 0, $"no final metrics: {final}");
    }

    [RequiresRedisFact]
    public async Task Restarting_redis_mid_training_the_cluster_carries_on_and_the_run_completes()
    {
        // Redis holds membership and grain state: restarted (kill -9) on the same port and append-only file, the
        // nodes reconnect and the experiment completes with its final metrics recorded.
        await using var cluster = await RedisCluster.StartAsync(nodes: 2, persistentRedis: true);
        var spec = cluster.WriteSpec(Steps, CheckpointEvery);
        var submitted = await cluster.CliAsync(TimeSpan.FromMinutes(2), "train", spec, "--id", "redis-restart", "--detach");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);

        await cluster.WaitForAsync("redis-restart", s => Checkpoint(s) >= CheckpointEvery, RunTimeout, Poll);
        await cluster.Redis.RestartAsync();

        var final = await cluster.WaitForAsync("redis-restart", IsFinal, RunTimeout);
        Assert.True(final.GetProperty("state").GetString() == "Completed", $"{final}\n{cluster.NodeLogs()}");
        Assert.True(final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble() > 0, $"no final metrics: {final}");
        // The inventory survived too: both nodes' workers are still known after the restart.
        await cluster.WaitForWorkersAsync(2, TimeSpan.FromMinutes(1));
    }
}

/// <summary>Cluster tests run one at a time: each starts several node processes on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisClusterCollection
{
    public const string Name = "redis cluster";
}
