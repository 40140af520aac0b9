using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Tests;

/// <summary>
/// 2 nodes × 2 workers: in-memory sums per node, a gRPC ring of the two leaders, in-memory broadcast back, against a
/// flat gRPC ring of all 4 ranks. Values are small integers so every order of summation is exact in float32:
/// the two must then agree bit for bit (a wrong rank, a lost or doubled contribution changes the integers).
/// </summary>
public sealed class HierarchicalGradientReducerTests
{
    private const int Nodes = 2, PerNode = 2, World = Nodes * PerNode, Length = 10_007; // odd: uneven ring segments
    private static readonly CollectiveOptions Options = new() { ChunkBytes = 4096, Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task Two_nodes_of_two_workers_sum_exactly_as_the_flat_ring()
    {
        var inputs = Enumerable.Range(0, World).Select(Input).ToArray();

        await using var flatHosts = await LoopbackCollectiveHosts.StartAsync(World);
        var flatGroup = new RingGroup("flat", flatHosts.Endpoints);
        var flat = await RunRanksAsync(rank =>
        {
            using var ring = new RingAllReduce(flatGroup, rank, flatHosts[rank].Mailbox, Options);
            var buffer = (float[])inputs[rank].Clone();
            new RingGradientReducer(ring, CancellationToken.None).Sum(buffer);
            return buffer;
        });

        await using var leaderHosts = await LoopbackCollectiveHosts.StartAsync(Nodes);
        var leaders = new RingGroup("leaders", leaderHosts.Endpoints);
        var nodeGroups = Enumerable.Range(0, Nodes).Select(_ => new InMemoryReducerGroup(PerNode, TimeSpan.FromMinutes(2))).ToArray();
        var hierarchical = await RunRanksAsync(rank =>
        {
            var (node, local) = (rank / PerNode, rank % PerNode);
            using var ring = local == 0 ? new RingAllReduce(leaders, node, leaderHosts[node].Mailbox, Options) : null;
            var across = ring is null ? null : new RingGradientReducer(ring, CancellationToken.None);
            var reducer = new HierarchicalGradientReducer(nodeGroups[node][local], across, rank, World);
            var buffer = (float[])inputs[rank].Clone();
            reducer.Sum(buffer);
            return buffer;
        });

        var expected = Enumerable.Range(0, Length).Select(i => inputs.Sum(b => b[i])).ToArray();
        for (var rank = 0; rank < World; rank++)
        {
            Assert.Equal(expected, flat[rank]);
            Assert.Equal(flat[rank], hierarchical[rank]);
        }
    }

    [Fact]
    public void Only_the_nodes_leader_holds_the_cross_node_ring()
    {
        var group = new InMemoryReducerGroup(2);
        var ex = Assert.Throws<ArgumentException>(() => new HierarchicalGradientReducer(group[1], group[0], rank: 1, worldSize: 4));
        Assert.Contains("local rank 1", ex.Message);
        Assert.Throws<ArgumentException>(() => new HierarchicalGradientReducer(group[0], null, rank: 0, worldSize: 4));
    }

    /// <summary>Rank r's gradient: integers in [-50, 50] (a different pattern per rank), exact under any summation order.</summary>
    private static float[] Input(int rank) => [.. Enumerable.Range(0, Length).Select(i => (float)((i * (rank + 3) + 7 * rank) % 101 - 50))];

    /// <summary>One dedicated thread per rank: the reducers block, as on a worker's training thread.</summary>
    private static Task<float[][]> RunRanksAsync(Func<int, float[]> rank) =>
        Task.WhenAll(Enumerable.Range(0, World).Select(r => Task.Factory.StartNew(() => rank(r), TaskCreationOptions.LongRunning)));
}
