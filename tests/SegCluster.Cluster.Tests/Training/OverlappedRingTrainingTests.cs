using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Models;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// Gradient buckets all-reduced during backward over the real TCP ring (slices of the flat gradient sent in place, with
/// SyncBatchNorm's own all-reduces interleaved on the same ring in backward) train to the same bits as one all-reduce
/// after backward: with two ranks each element is a + b either way.
/// </summary>
public sealed class OverlappedRingTrainingTests
{
    private const int Steps = 2, BatchPerRank = 2, World = 2;
    private static readonly ModelOptions Model = new("spgnet", NumClasses: 4, Width: 8, Norm: NormKind.SyncBatchNorm);
    private static readonly SyntheticSceneDataset Data = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 16, Seed: 7));
    private static readonly CollectiveOptions Options = new() { ChunkBytes = 4096, Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task Tiny_buckets_over_the_ring_train_to_the_same_parameters_as_one_all_reduce()
    {
        await using var hosts = await LoopbackCollectiveHosts.StartAsync(World);
        var serial = await TrainAsync("serial", hosts, bucketMegabytes: 0);
        var overlapped = await TrainAsync("overlapped", hosts, bucketMegabytes: 0.002);

        for (var rank = 0; rank < World; rank++)
            for (var i = 0; i < serial[rank].Length; i++)
                Assert.Equal(serial[rank][i], overlapped[rank][i]);
    }

    private static Task<float[][][]> TrainAsync(string ringId, LoopbackCollectiveHosts hosts, double bucketMegabytes) =>
        Task.WhenAll(Enumerable.Range(0, World).Select(rank => Task.Factory.StartNew(() =>
        {
            var assignment = new TrainingAssignment("experiment", new ExperimentSpec(), rank, hosts.Endpoints, "shard", ringId);
            using var reduction = RingReduction.Join(assignment, hosts[rank].Mailbox, Options, new NodeReducerGroups(), CancellationToken.None);
            return RingTrainingRun.Train(reduction, rank, World, Model, Data, Steps, BatchPerRank, bucketMegabytes);
        }, TaskCreationOptions.LongRunning)));
}
