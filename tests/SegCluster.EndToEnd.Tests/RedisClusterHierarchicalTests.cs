namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Two `segcluster node` processes with two CPU workers each and a 4-worker experiment: the ranks of each node sum
/// in memory and the two node leaders form the gRPC ring across the processes (RingReduction); the run completes.
/// (Equality with the flat ring's parameters is checked in-process by RingReductionTests.)
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterHierarchicalTests
{
    [RequiresRedisFact]
    public async Task Two_nodes_of_two_workers_reduce_in_memory_per_node_and_complete()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 2, workersPerNode: 2);
        var spec = cluster.WriteSpec(steps: 4, checkpointEvery: 0, workers: 4, batchPerWorker: 1);

        var (exit, stdout, stderr) = await cluster.CliAsync(TimeSpan.FromMinutes(6), "train", spec, "--id", "two-by-two");

        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}\n{cluster.NodeLogs()}");
        Assert.Contains("completed", stdout);
        var logs = cluster.NodeLogs();
        Assert.Equal(4, CountOf(logs, "reduces in memory with 2 ranks of this node, then the ring of 2 node leaders"));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
