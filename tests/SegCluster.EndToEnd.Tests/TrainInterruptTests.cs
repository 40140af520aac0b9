namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Ctrl+C while `segcluster train --cluster` follows a job stops following, not the job (as `ray job submit` and
/// `kubectl logs -f`): the CLI exits 130 and says how to follow or cancel, and the experiment keeps training.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class TrainInterruptTests
{
    [RequiresRedisFact]
    public async Task Ctrl_c_detaches_from_a_cluster_experiment_which_keeps_running()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 1);
        await cluster.WaitForWorkersAsync(1, TimeSpan.FromMinutes(2));
        var spec = cluster.WriteSpec(steps: 100_000, checkpointEvery: 0, workers: 1);
        using var cli = CliProcess.Start("train", spec, "--id", "detached", "--cluster", cluster.Redis.Address, "--token", RedisCluster.Token);
        await cluster.WaitForAsync("detached", s => s.GetProperty("step").GetInt32() > 0, TimeSpan.FromMinutes(2));

        await cli.InterruptAsync();
        var (exit, stdout, stderr) = await cli.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exit == 130, $"exit {exit}: {stdout}\n{stderr}");
        Assert.Contains("keeps running", stdout);
        // The commands to copy name the cluster that was given, and the token only as a placeholder.
        Assert.Contains($"segcluster status detached --cluster {cluster.Redis.Address} --token …", stdout);
        Assert.Contains($"segcluster cancel detached --cluster {cluster.Redis.Address} --token …", stdout);
        Assert.DoesNotContain(RedisCluster.Token, stdout + stderr);
        var before = (await cluster.StatusAsync("detached")).GetProperty("step").GetInt32();
        var after = await cluster.WaitForAsync("detached", s => s.GetProperty("step").GetInt32() > before, TimeSpan.FromMinutes(1));
        Assert.Equal("Running", after.GetProperty("state").GetString());
        Assert.Equal(0, (await cluster.CliAsync(TimeSpan.FromMinutes(1), "cancel", "detached")).ExitCode);
    }
}
