using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using Conv2d = TorchSharp.Modules.Conv2d;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Precision;

/// <summary>
/// Each rank probes its own device for the convolutions libtorch computes wrongly in channels_last
/// (<see cref="ChannelsLastConvolutionCheck"/>), and ranks on CPUs of different ISAs can disagree. A conv weight's layout
/// is its gradient's element order in the flat buffer the ranks sum, so a conv in channels_last on one rank and NCHW on
/// the other had its (O, kh, kw, I)-ordered gradient added to an (O, I, kh, kw)-ordered one: silently wrong updates, and
/// ranks whose parameters drifted apart for good. Here rank 1's probe is made to say "wrong" for one 3×3 convolution
/// that rank 0's device computes right: both ranks must keep it NCHW, stay identical, and match one rank.
/// </summary>
public sealed class ChannelsLastAgreementTests(ITestOutputHelper output)
{
    private const int Steps = 2;
    private static readonly PrecisionOptions ChannelsLast = new(PrecisionMode.Fp32, MemoryFormat.ChannelsLast);
    private static readonly OptimizerOptions Optimizer = new(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 8, Seed: 5));

    [Theory]
    [InlineData(0.0)]  // one all-reduce after backward
    [InlineData(0.002)]  // buckets reduced during backward
    public void Ranks_whose_devices_disagree_on_a_convolution_keep_it_NCHW_on_both_and_train_as_one_rank(double bucketMegabytes)
    {
        var criterion = new SegmentationCriterion(new LossOptions());
        // Built one after the other: the seeded initialisation draws from torch's one global generator.
        using var reference = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 2);
        var ranks = Enumerable.Range(0, 2).Select(_ => TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 2)).ToArray();
        var initial = TestData.Snapshot(reference);
        var check = new ChannelsLastConvolutionCheck(ScalarType.Float32);
        // A k×k convolution over several channels (its channels_last order differs from NCHW) that this device computes right.
        var target = ranks[1].named_modules()
            .Where(m => m.module is Conv2d { weight: { } w } && w.shape[1] > 1 && w.shape[2] > 1)
            .First(m => check.Agrees((Conv2d)m.module));
        output.WriteLine($"rank 1's device says {target.name} is wrong in channels_last");

        using (var single = new DataParallelTrainer(reference, criterion, Optimizer, new SingleRankReducer(), PrecisionOptions.Fp32))
            for (int s = 0; s < Steps; s++)
            {
                using var batch = TestData.Batch(Scenes, Enumerable.Range(4 * s, 4));
                single.Step(batch);
            }

        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(60));
        var keptNchw = new IReadOnlyList<string>[2];
        var failures = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try
            {
                Func<Conv2d, bool> probe = r == 1 ? conv => !ReferenceEquals(conv, target.module) && check.Agrees(conv) : check.Agrees;
                using var trainer = new DataParallelTrainer(ranks[r], criterion, Optimizer, group[r], ChannelsLast, bucketMegabytes, probe);
                keptNchw[r] = [.. trainer.Precision.ContiguousConvolutions];
                for (int s = 0; s < Steps; s++)
                {
                    using var batch = TestData.Batch(Scenes, [4 * s + 2 * r, 4 * s + 2 * r + 1]);
                    trainer.Step(batch);
                }
            }
            catch (Exception e)
            {
                failures[r] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(failures, Assert.Null);

        var (rank0, rank1, expected) = (TestData.Snapshot(ranks[0]), TestData.Snapshot(ranks[1]), TestData.Snapshot(reference));
        foreach (var model in ranks) model.Dispose();
        double moved = PrecisionTestMath.MaxAbsDifference(initial, expected), fromReference = PrecisionTestMath.MaxAbsDifference(expected, rank0);
        output.WriteLine($"kept NCHW: {string.Join(", ", keptNchw[0])}; parameters moved {moved:E2}; rank 0 vs one rank {fromReference:E2}");
        Assert.Equal(0, PrecisionTestMath.MaxAbsDifference(rank0, rank1));  // the same sums applied to the same layout
        Assert.True(moved > 1e-3, $"parameters barely moved ({moved:E2}); the comparison would be vacuous");
        // Different kernels (layouts, batch splits) sum in different orders: ~1e-6 per layer (LossScalingAndLayoutTests).
        Assert.True(fromReference < 1e-4, $"the ranks' parameters differ from one rank's with the double batch by {fromReference:E2}");
        Assert.Contains(target.name, keptNchw[0]);  // rank 0 took rank 1's verdict
        Assert.Equal(keptNchw[0], keptNchw[1]);
    }
}
