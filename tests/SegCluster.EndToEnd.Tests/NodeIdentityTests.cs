using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Two nodes cannot share an id: a second `segcluster node --node-id n1` beside an active n1 started, registered its
/// workers under n1's ids and the two overwrote each other's inventory at every heartbeat. It is now refused at start,
/// once the cluster has had time to declare a restarted node's predecessor dead (DuplicateNodeCheck), with one line and no
/// stack (StartRefusalLoggerFactory), and n1 runs on.
/// </summary>
public sealed class NodeIdentityTests
{
    [RequiresRedisFact]
    public async Task A_second_node_with_an_active_nodes_id_exits_2_naming_it_and_the_first_keeps_its_workers()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 1, workersPerNode: 2);
        var first = cluster.Nodes[0];
        // A short probe timeout: the namesake gives up after 2 × 4 × 0.5 s × 2 missed probes = 8 s instead of 32 s.
        await using var namesake = ClusterNodeProcess.Start(cluster.Redis.Address, first.NodeId, RedisCluster.Token, cluster.CheckpointDirectory,
            environment: new Dictionary<string, string> { ["SEGCLUSTER_Node__FailureDetection__ProbeTimeoutSeconds"] = "0.5" });

        var exit = await namesake.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(exit == 2, $"exit {exit?.ToString() ?? "none (still running)"}\n{namesake.Output()}");
        Assert.True(namesake.Printed($"error: Node:NodeId '{first.NodeId}' is taken: a node of this cluster with that id is active at 127.0.0.1:"),
            namesake.Output());
        Assert.False(namesake.Printed("Unhandled exception"), namesake.Output());
        // The one line only: Orleans' silo lifecycle, the silo and the host each logged the exception with its stack before it.
        Assert.False(namesake.Printed("   at "), namesake.Output());
        Assert.False(namesake.Printed(nameof(SegCluster.Cluster.Nodes.NodeIdTakenException)), namesake.Output());
        Assert.False(namesake.Printed("fail: "), namesake.Output());

        Assert.False(first.HasExited, first.Output());
        using var http = cluster.Api();
        var workers = JsonDocument.Parse(await http.GetStringAsync("/api/scheduler")).RootElement.GetProperty("workers");
        Assert.Equal(["n1/0", "n1/1"], workers.EnumerateArray().Select(w => w.GetProperty("worker").GetProperty("workerId").GetString()).Order());
    }
}
