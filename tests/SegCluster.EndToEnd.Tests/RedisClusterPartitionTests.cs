using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;
using static SegCluster.EndToEnd.Tests.ClusterStatusJson;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A network partition, not a crash: three `segcluster node` processes, each in a network namespace of its own on a
/// private bridge (<see cref="PrivateNetwork"/>; redis-server, the CLI and the status calls on the test's side of it),
/// a 2-worker experiment of 30 steps with checkpoints every 3. After the first checkpoint the cable of the worker node that
/// does not hold the coordinator is pulled: its process runs on, but nothing it sends arrives and nothing reaches it.
/// Orleans membership declares it dead, the run re-forms on the two reachable nodes from the last checkpoint and
/// completes. Once the cable is back, the cut-off node reads that it was declared dead and stops itself (Orleans ends a
/// silo that learns it is dead), and the re-formed run is not disturbed by it.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterPartitionTests(ITestOutputHelper output)
{
    private const int Steps = 30, CheckpointEvery = 3;  // 9 could end before the cut landed (as in ReformationResumeTests, CI)
    private const string Id = "partitioned";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);
    /// <summary>The cut must land before the steps after the first checkpoint are done (0.7 s each or more here).</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    [RequiresNetworkNamespacesFact]
    public async Task A_worker_node_cut_off_the_network_is_declared_dead_the_run_re_forms_without_it_and_the_node_stops_once_healed()
    {
        var total = Stopwatch.StartNew();
        using var network = PrivateNetwork.Create();
        await using var cluster = await RedisCluster.StartAsync(nodes: 3, network: network);
        var spec = cluster.WriteSpec(Steps, CheckpointEvery);
        var submitted = await cluster.CliAsync(TimeSpan.FromMinutes(2), "train", spec, "--id", Id, "--detach");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);

        var running = await cluster.WaitForAsync(Id, s => Checkpoint(s) >= CheckpointEvery, RunTimeout, Poll);
        var coordinator = running.GetProperty("coordinatorNode").GetString();
        var victim = cluster.Nodes.Single(n => n.NodeId == Workers(running).Select(NodeOf).First(id => id != coordinator));
        var clock = Stopwatch.StartNew();
        network.Cut(victim.Host!);

        // Declared dead through membership (the ring's own timeout, Collectives:Timeout 30 s, comes later), re-formed without it.
        var reformed = await cluster.WaitForAsync(Id, s => s.GetProperty("attempt").GetInt32() >= 2 && Workers(s).Count == 2 || IsFinal(s),
            RunTimeout, Poll);
        var reformedAfter = clock.Elapsed;
        Assert.True(reformed.GetProperty("attempt").GetInt32() >= 2, $"the run ended without re-forming (did the cut land after its last step?): {reformed}");
        Assert.DoesNotContain(Workers(reformed), w => NodeOf(w) == victim.NodeId);
        Assert.False(victim.HasExited, $"the cut-off node's process ended while cut off; it should run on, unaware\n{victim.Output()}");

        network.Heal(victim.Host!);
        var healedAt = clock.Elapsed;
        var exitCode = await victim.WaitForExitAsync(TimeSpan.FromMinutes(1));
        var exitedAfter = clock.Elapsed - healedAt;
        Assert.True(exitCode is not null, $"the healed node still runs {exitedAfter.TotalSeconds:F0} s after its cable came back, though it was declared dead\n{victim.Output()}");
        Assert.True(victim.Printed("I have been told I am dead"), $"the healed node exited (code {exitCode}) for another reason than being declared dead\n{victim.Output()}");

        var final = await cluster.WaitForAsync(Id, IsFinal, RunTimeout);
        Assert.True(final.GetProperty("state").GetString() == "Completed", $"{final}\n{cluster.NodeLogs()}");
        Assert.DoesNotContain(Workers(final), w => NodeOf(w) == victim.NodeId);
        // The healed node's stale rank (its ring broke under it) did not break the re-formed ring: no third formation.
        Assert.True(final.GetProperty("attempt").GetInt32() == reformed.GetProperty("attempt").GetInt32(),
            $"the run re-formed again after the cut-off node came back: {final}\n{cluster.NodeLogs()}");
        var stepsRedone = final.GetProperty("stepsRedone").GetInt32();
        Assert.InRange(stepsRedone, 0, CheckpointEvery);
        Assert.True(final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble() > 0, $"no final metrics: {final}");

        output.WriteLine($"cut {victim.NodeId} (coordinator on {coordinator}) at step {running.GetProperty("step").GetInt32()}, checkpoint {Checkpoint(running)}; " +
                         $"re-formed on {string.Join(", ", Workers(reformed))} (attempt {reformed.GetProperty("attempt").GetInt32()}) {reformedAfter.TotalSeconds:F1} s after the cut; " +
                         $"healed at {healedAt.TotalSeconds:F1} s, the node exited (code {exitCode}) {exitedAfter.TotalSeconds:F1} s later; " +
                         $"completed {clock.Elapsed.TotalSeconds:F1} s after the cut ({total.Elapsed.TotalSeconds:F0} s from the start of the cluster), {stepsRedone} steps redone, mIoU {final.GetProperty("evaluation").GetProperty("meanIoU").GetDouble():F4}");
    }
}
