using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Models;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// training.wire reaches the ring the worker loop forms (ExperimentCollectiveOptions over the node's settings, then
/// RingReduction.Join): 2 ranks on 2 collective hosts train 3 steps with fp16 and with fp32 from the same start. The
/// fp16 run ends close to the fp32 run but not equal (its gradients were rounded on the wire), and its ranks end
/// bit-identical (each segment's owner rounds its own copy before the all-gather).
/// </summary>
public sealed class WireSpecTrainingTests
{
    private const int Steps = 3, BatchPerRank = 2, World = 2;
    // spgnet width 8 has ~0.19 M parameters: its flat gradient is above Fp16MinLength, so the fp16 wire applies.
    private static readonly ModelOptions Model = new("spgnet", NumClasses: 4, Width: 8, Norm: NormKind.GroupNorm);
    private static readonly SyntheticSceneDataset Data = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 32, Seed: 5));
    private static readonly CollectiveOptions Node = new() { ChunkBytes = 65536, Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task An_fp16_wire_from_the_spec_trains_close_to_fp32_and_keeps_ranks_identical()
    {
        await using var hosts = await LoopbackCollectiveHosts.StartAsync(World);
        var fp32 = await TrainAsync("fp32", hosts);
        var fp16 = await TrainAsync("fp16", hosts);

        for (var i = 0; i < fp16[0].Length; i++) Assert.Equal(fp16[0][i], fp16[1][i]);  // bit-identical ranks
        var relative = ParameterComparison.RelativeL2([.. fp32[0].SelectMany(p => p)], [.. fp16[0].SelectMany(p => p)]);
        Assert.True(relative > 0, "the fp16 run equals the fp32 run: the spec's wire did not reach the ring");
        // Deterministic (seeds, fixed data, round-to-nearest), so no load dependence: measured 1.8e-3 after 3 steps
        // (rounded gradients change the next gradients; zero-initialised biases carry only rounded updates). A garbled
        // or mis-scaled wire gives O(1); 1e-2 separates the two.
        Assert.True(relative < 1e-2, $"fp16 parameters differ from fp32 by {relative:E2} (relative L2), more than the wire's rounding explains");
    }

    [Fact]
    public async Task Rank_zeros_weights_reach_every_rank_unrounded_over_an_fp16_wire()
    {
        // The broadcast at start (and before each validation) carries weights, not gradients: rounded to fp16's 11
        // significant bits it would move every rank, rank 0 included, away from rank 0's weights.
        await using var hosts = await LoopbackCollectiveHosts.StartAsync(World);
        var broadcast = await TrainAsync("fp16", hosts, steps: 0);
        using var rankZero = ParameterComparison.CreateModel(Model, seed: 1);
        var expected = ParameterComparison.Snapshot(rankZero);

        Assert.All(broadcast, weights => Assert.Equal(expected, weights));
    }

    private static Task<float[][][]> TrainAsync(string wire, LoopbackCollectiveHosts hosts, int steps = Steps) =>
        Task.WhenAll(Enumerable.Range(0, World).Select(rank => Task.Factory.StartNew(() =>
        {
            var spec = new ExperimentSpec { Training = new TrainingSpec { Wire = wire } };
            var assignment = new TrainingAssignment("experiment", spec, rank, hosts.Endpoints, "shard", $"wire-{wire}");
            var options = ExperimentCollectiveOptions.For(spec.Training, Node);
            using var reduction = RingReduction.Join(assignment, hosts[rank].Mailbox, options, new NodeReducerGroups(), CancellationToken.None);
            Assert.EndsWith($"{wire} wire", reduction.Description, StringComparison.Ordinal);
            return RingTrainingRun.Train(reduction, rank, World, Model, Data, steps, BatchPerRank);
        }, TaskCreationOptions.LongRunning)));
}
