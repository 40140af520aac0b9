using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Models;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// The worker loop's reduction (RingReduction, as WorkerTrainingLoop joins it): 2 nodes × 2 workers (ranks sharing a
/// node's collective endpoint) reduce in memory per node and over a ring of the two leaders, and train a model to
/// the same parameters as the flat 4-node ring; one rank per node stays the flat ring.
/// </summary>
public sealed class RingReductionTests
{
    private const int Steps = 3, BatchPerRank = 2, World = 4;
    private static readonly ModelOptions Model = new("spgnet", NumClasses: 4, Width: 8, Norm: NormKind.GroupNorm);
    private static readonly SyntheticSceneDataset Data = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 64, Seed: 7));
    private static readonly CollectiveOptions Options = new() { ChunkBytes = 4096, Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task Two_nodes_of_two_workers_train_as_the_flat_ring_of_four()
    {
        await using var hosts = await LoopbackCollectiveHosts.StartAsync(World);
        var flat = await TrainAsync("flat", hosts.Endpoints, hosts, new NodeReducerGroups(), expectHierarchical: false);
        // Ranks 0, 1 on node A and 2, 3 on node B: each node's ranks share its endpoint (and its mailbox), as on a node.
        string a = hosts[0].Endpoint, b = hosts[1].Endpoint;
        var hierarchical = await TrainAsync("two-by-two", [a, a, b, b], hosts, new NodeReducerGroups(), expectHierarchical: true);

        for (var rank = 1; rank < World; rank++)
            for (var i = 0; i < flat[0].Length; i++) Assert.Equal(hierarchical[0][i], hierarchical[rank][i]);  // every rank identical
        for (var i = 0; i < flat[0].Length; i++) ParameterComparison.AssertClose(flat[0][i], hierarchical[0][i], $"parameter {i}");  // node-first summation rounds differently
    }

    [Fact]
    public void A_leader_whose_ring_cannot_be_created_leaves_the_node_group()
    {
        var groups = new NodeReducerGroups();
        const string a = "http://127.0.0.1:5001", b = "http://127.0.0.1:5002";
        var assignment = new TrainingAssignment("experiment", new ExperimentSpec(), 0, [a, a, b, b], "shard", "leak");
        var invalid = new CollectiveOptions { ChunkBytes = 3, Timeout = TimeSpan.FromSeconds(60) };  // the leaders' ring rejects it

        var error = Assert.Throws<ArgumentException>(() => RingReduction.Join(assignment, new CollectiveMailbox(), invalid, groups, CancellationToken.None));
        Assert.Contains("ChunkBytes", error.Message);
        // The lease was given back: the group is gone, so a formation of another size may take its id.
        using var next = groups.Join($"leak@{a}", localRanks: 3, invalid);
        Assert.Equal(3, next.Group.WorldSize);
    }

    /// <summary>Node B's ranks join 10 s after node A's, within ConnectTimeout but past Timeout: A's leader waits for B in
    /// the leaders' ring (bounded by ConnectTimeout), and A's other rank waits for its leader's result. That wait was
    /// bounded by Timeout, so the rank failed the formation ("not all 2 ranks reached the all-reduce within Timeout").
    /// Timeout is 4 s, not 1 s, so the formed ring's second call survives a stall on loaded cores; the late join stays 6 s
    /// past it, so a wait bounded by Timeout still fails here.</summary>
    [Fact]
    public async Task A_node_that_joins_later_than_Timeout_but_within_ConnectTimeout_still_sums_exactly()
    {
        await using var hosts = await LoopbackCollectiveHosts.StartAsync(2);
        string a = hosts[0].Endpoint, b = hosts[1].Endpoint;
        var options = new CollectiveOptions { ChunkBytes = 4096, Timeout = TimeSpan.FromSeconds(4), ConnectTimeout = TimeSpan.FromSeconds(30) };
        var groups = new NodeReducerGroups();
        var sums = await Task.WhenAll(Enumerable.Range(0, World).Select(rank => Task.Factory.StartNew(() =>
        {
            if (rank >= 2) Thread.Sleep(TimeSpan.FromSeconds(10));
            var assignment = new TrainingAssignment("experiment", new ExperimentSpec(), rank, [a, a, b, b], "shard", "late-node");
            using var reduction = RingReduction.Join(assignment, hosts[rank / 2].Mailbox, options, groups, CancellationToken.None);
            float[] buffer = [rank + 1, 10 * (rank + 1)];
            reduction.Reducer.Sum(buffer);
            float[] second = [1];
            reduction.Reducer.Sum(second);  // formed: later calls run as usual
            return buffer.Append(second[0]).ToArray();
        }, TaskCreationOptions.LongRunning)));

        Assert.All(sums, sum => Assert.Equal([10f, 100f, 4f], sum));
    }

    private static Task<float[][][]> TrainAsync(string ringId, IReadOnlyList<string> endpoints, LoopbackCollectiveHosts hosts, NodeReducerGroups groups, bool expectHierarchical) =>
        Task.WhenAll(Enumerable.Range(0, World).Select(rank => Task.Factory.StartNew(() =>
        {
            var assignment = new TrainingAssignment("experiment", new ExperimentSpec(), rank, endpoints, "shard", ringId);
            var mailbox = hosts.All.Single(h => h.Endpoint == endpoints[rank]).Mailbox;
            using var reduction = RingReduction.Join(assignment, mailbox, Options, groups, CancellationToken.None);
            Assert.Equal(expectHierarchical, reduction.Hierarchical);
            return RingTrainingRun.Train(reduction, rank, World, Model, Data, Steps, BatchPerRank);
        }, TaskCreationOptions.LongRunning)));
}
