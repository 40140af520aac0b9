using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests;

/// <summary>
/// The core invariant through the real gRPC ring: 2 workers with batch b end with the same parameters as
/// 1 worker with batch 2b, after several SGD steps (GroupNorm: no batch statistics; ignore pixels present).
/// </summary>
public sealed class DataParallelEquivalenceTests
{
    private const int Steps = 4, BatchPerRank = 2, Ranks = 2;
    private static readonly ModelOptions Model = new("spgnet", NumClasses: 4, Width: 8, Norm: NormKind.GroupNorm);
    private static readonly OptimizerOptions Sgd = new(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);
    private static readonly SyntheticSceneDataset Data = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 64, Seed: 7));

    [Fact]
    public async Task Two_ranks_over_grpc_match_one_rank_with_the_double_batch()
    {
        var reference = TrainSingleRank();

        // Two processes' worth of ring: one collective host per rank, as on two nodes.
        await using var host0 = await LoopbackCollectiveHost.StartAsync();
        await using var host1 = await LoopbackCollectiveHost.StartAsync();
        var group = new RingGroup("equivalence", [host0.Endpoint, host1.Endpoint]);
        var hosts = new[] { host0, host1 };
        var ranks = await Task.WhenAll(Enumerable.Range(0, Ranks).Select(rank => Task.Factory.StartNew(
            () => TrainRank(group, rank, hosts[rank].Mailbox), TaskCreationOptions.LongRunning)));

        Assert.Equal(reference.Length, ranks[0].Length);
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.Equal(ranks[0][i], ranks[1][i]); // all ranks bit-identical after the all-gather
            AssertClose(reference[i], ranks[0][i], $"parameter {i}");
        }
    }

    private static float[][] TrainSingleRank()
    {
        using var model = CreateModel(seed: 1);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), Sgd, new SingleRankReducer());
        for (var step = 0; step < Steps; step++)
        {
            using var batch = SegmentationBatch.Collate(GlobalBatch(step).Select(Data.Get).ToList(), CPU);
            trainer.Step(batch);
        }
        return Snapshot(model);
    }

    private static float[][] TrainRank(RingGroup group, int rank, CollectiveMailbox mailbox)
    {
        using var ring = new RingAllReduce(group, rank, mailbox, new CollectiveOptions { ChunkBytes = 4096, Timeout = TimeSpan.FromSeconds(30) });
        var reducer = new RingGradientReducer(ring, CancellationToken.None);
        // Different local initialisation on purpose: the broadcast must make rank 1 start from rank 0's weights.
        using var model = CreateModel(seed: 1 + rank * 100);
        ParameterBroadcast.FromRankZero(model, reducer);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), Sgd, reducer);
        for (var step = 0; step < Steps; step++)
        {
            // Rank r takes the r-th half of the global batch.
            var local = GlobalBatch(step).Skip(rank * BatchPerRank).Take(BatchPerRank);
            using var batch = SegmentationBatch.Collate(local.Select(Data.Get).ToList(), CPU);
            trainer.Step(batch);
        }
        return Snapshot(model);
    }

    private static IEnumerable<int> GlobalBatch(int step) => Enumerable.Range(step * Ranks * BatchPerRank, Ranks * BatchPerRank);

    private static SegmentationModel CreateModel(int seed) => ParameterComparison.CreateModel(Model, seed);

    private static float[][] Snapshot(SegmentationModel model) => ParameterComparison.Snapshot(model);

    private static void AssertClose(float[] expected, float[] actual, string what) => ParameterComparison.AssertClose(expected, actual, what);
}
