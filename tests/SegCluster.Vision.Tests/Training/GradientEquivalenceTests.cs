using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using Xunit.Abstractions;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// DESIGN.md's core invariant: W ranks × batch b give the same parameters as 1 rank × batch W·b,
/// here with ignore pixels whose count differs between the ranks' halves of the batch.
/// </summary>
public class GradientEquivalenceTests(ITestOutputHelper output)
{
    private const int Steps = 4;
    private const int PerRank = 2;
    private const double Tolerance = 1e-5;

    /// <remarks>
    /// encoder-decoder with SyncBatchNorm is compared after one step: its stride-32 level is 1×1 at 32×32, so
    /// each norm there sees 4 values per channel, and float32 rounding of the partial sums (1e-7 relative)
    /// grows by |mean|/std per step (1.6e-4 after two steps). One step is what SyncBatchNorm promises: the
    /// same outputs, gradients and running statistics; SyncBatchNormTests checks those per layer. spgnet with
    /// SyncBatchNorm is compared after two steps for the same reason: with its auxiliary labels sampled at the cells'
    /// centres (nearest-exact) the rounding difference measured 1.7e-8, 3.9e-8, 6.6e-6 and 1.8e-4 after one to four
    /// steps, growing ~30x a step once the small norms' statistics amplify it (with top-left sampling it had stayed
    /// under 1e-5 for four steps on this seed).
    /// </remarks>
    [Theory]
    [InlineData("spgnet", NormKind.GroupNorm, 4)]
    [InlineData("encoder-decoder", NormKind.GroupNorm, 4)]
    [InlineData("spgnet", NormKind.SyncBatchNorm, 2)]
    [InlineData("encoder-decoder", NormKind.SyncBatchNorm, 1)]
    public void TwoRanksOnThreadsMatchOneRankWithTheDoubleBatch(string name, NormKind norm, int steps)
    {
        var run = Run(name, norm, steps);
        Assert.True(run.Moved > 1e-3, $"parameters barely moved ({run.Moved}); the comparison would be vacuous");
        for (int r = 0; r < 2; r++)
        {
            output.WriteLine($"{name} {norm} rank {r}: relative L2 {run.Errors[r]:E2}, buffers {run.BufferErrors[r]:E2} (parameters moved {run.Moved:E2})");
            Assert.True(run.Errors[r] < Tolerance, $"rank {r}: relative L2 difference {run.Errors[r]:E2} ≥ {Tolerance:E0}");
            // SyncBatchNorm: running statistics are those of the whole global batch, identical on every rank.
            Assert.True(run.BufferErrors[r] < Tolerance, $"rank {r}: running statistics differ by {run.BufferErrors[r]:E2}");
            for (int s = 0; s < steps; s++)
                Assert.Equal(run.SingleLosses[s], run.RankLosses[r, s], 1e-4);
        }
    }

    /// <summary>The control: per-rank BatchNorm normalises each half-batch by itself, so the runs must differ.</summary>
    [Fact]
    public void PerRankBatchNormDoesNotMatchTheDoubleBatch()
    {
        var run = Run("encoder-decoder", NormKind.BatchNorm, Steps);
        output.WriteLine($"BatchNorm: relative L2 {run.Errors[0]:E2}, buffers {run.BufferErrors[0]:E2}");
        Assert.True(run.Errors[0] > 100 * Tolerance, $"per-rank BatchNorm matched the global batch ({run.Errors[0]:E2}); the SyncBatchNorm test could not fail");
        Assert.True(run.BufferErrors[0] > 100 * Tolerance);
    }

    /// <summary>
    /// Soft labels at f = 4 as the authors make them (raw area fractions): cells partly covered by ignore pixels give each
    /// rank a fractional soft mass, and the loss is normalised by the global mass as it is, the sum of the ranks' masses
    /// (rounding each rank's mass to a count made the two ranks' loss differ from the single rank's).
    /// </summary>
    [Fact]
    public void TwoRanksMatchOneRankWithFractionalSoftMass()
    {
        var loss = new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, 4));
        var scenes = Scenes();
        using (var scope = TorchSharp.torch.NewDisposeScope())
        {
            using var batch = TestData.Batch(scenes, Enumerable.Range(0, PerRank).ToArray());
            var mass = new SoftLabelDownsampler(4).Downsample(batch.Labels, 4).sum().item<float>();
            Assert.NotEqual(Math.Round(mass), mass, 3);  // the first rank's first mass is fractional
        }
        var run = Run("spgnet", NormKind.GroupNorm, 2, loss: loss);
        for (int r = 0; r < 2; r++)
        {
            output.WriteLine($"soft-ce f = 4 rank {r}: relative L2 {run.Errors[r]:E2} (parameters moved {run.Moved:E2})");
            Assert.True(run.Errors[r] < Tolerance, $"rank {r}: relative L2 difference {run.Errors[r]:E2} ≥ {Tolerance:E0}");
            for (int s = 0; s < 2; s++)
                Assert.Equal(run.SingleLosses[s], run.RankLosses[r, s], 1e-5);
        }
    }

    private static SyntheticSceneDataset Scenes() => new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 64, Seed: 5));

    private sealed record EquivalenceRun(double Moved, double[] Errors, double[] BufferErrors, double[] SingleLosses, double[,] RankLosses);

    /// <remarks>
    /// bf16-mixed: both runs cast the same fp32 masters and the same per-image inputs identically, so the forward
    /// per image is the same; they differ where a bf16 convolution reduces over the batch: the weight gradient of 4
    /// images is rounded to bf16 once (1 rank) or as two 2-image halves then summed in fp32 (2 ranks), a 2^-8
    /// relative difference per element (and GroupNorm needs no batch statistics). The difference is so a small fraction
    /// of what the two steps moved the parameters, not of the parameters: measured here, the parameters moved 2.3e-2
    /// (spgnet) and 3.1e-2 (encoder-decoder) relative to their size, and the ranks ended 7.3e-4 and 5.1e-4 from the
    /// single run, 3.2% and 1.7% of the movement. The old bound (difference below 1e-2 of the parameters' size) was
    /// about half the movement, and passed whatever the difference if the parameters did not move: ranks that trained
    /// without each other's gradients ended 70% of the movement away (1.6e-2, 2.2e-2), barely outside it. Bounds:
    /// movement above 5e-3 (so the comparison is not vacuous; ~4x under the measured), difference below 10% of the
    /// movement (3x over the measured; that broken ring is 7x over it).
    /// </remarks>
    [Theory]
    [InlineData("encoder-decoder")]
    [InlineData("spgnet")]
    public void TwoRanksMatchOneRankUnderBf16Mixed(string name)
    {
        var run = Run(name, NormKind.GroupNorm, 2, new PrecisionOptions(PrecisionMode.Bf16Mixed));
        Assert.True(run.Moved > 5e-3, $"parameters barely moved ({run.Moved:E2}); the comparison would be vacuous");
        for (int r = 0; r < 2; r++)
        {
            var share = run.Errors[r] / run.Moved;
            output.WriteLine($"{name} bf16-mixed rank {r}: relative L2 {run.Errors[r]:E2} (parameters moved {run.Moved:E2}; {share:P1} of it)");
            Assert.True(share < 0.1, $"rank {r}: relative L2 difference {run.Errors[r]:E2} is {share:P1} of the movement {run.Moved:E2} (≥ 10%)");
        }
    }

    private static EquivalenceRun Run(string name, NormKind norm, int steps, PrecisionOptions? precision = null, LossOptions? loss = null)
    {
        var scenes = Scenes();
        var optimizer = new OptimizerOptions(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);
        var criterion = new SegmentationCriterion(loss ?? new LossOptions());
        int[] Indices(int step, int first, int count) => Enumerable.Range(step * 2 * PerRank + first, count).ToArray();

        // ignore pixels are present and unevenly split between the ranks' halves
        var ignore = Enumerable.Range(0, steps * 2 * PerRank).Select(i => scenes.Get(i).Label.Count(l => l == 255)).ToArray();
        Assert.True(ignore.Sum() > 0);

        using var single = TestData.Model(name, 4, 8, norm, seed: 2);
        var initial = TestData.Snapshot(single);
        var singleLosses = new double[steps];
        using (var trainer = new DataParallelTrainer(single, criterion, optimizer, new SingleRankReducer(), precision))
            for (int s = 0; s < steps; s++)
            {
                using var batch = TestData.Batch(scenes, Indices(s, 0, 2 * PerRank));
                singleLosses[s] = trainer.Step(batch).Loss;
            }

        var group = new InMemoryReducerGroup(2);
        var ranks = new SegmentationModel[2];
        var rankLosses = new double[2, steps];
        for (int r = 0; r < 2; r++)
        {
            ranks[r] = TestData.Model(name, 4, 8, norm, seed: 100 + r);
            RestoreSnapshot(ranks[r], initial);
        }
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var trainer = new DataParallelTrainer(ranks[r], criterion, optimizer, group[r], precision);
            for (int s = 0; s < steps; s++)
            {
                using var batch = TestData.Batch(scenes, Indices(s, r * PerRank, PerRank));
                rankLosses[r, s] = trainer.Step(batch).Loss;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var expected = TestData.Snapshot(single);
        var expectedBuffers = Buffers(single);
        var run = new EquivalenceRun(RelativeL2(initial, expected),
            ranks.Select(m => RelativeL2(expected, TestData.Snapshot(m))).ToArray(),
            ranks.Select(m => expectedBuffers.Length == 0 ? 0 : RelativeL2(expectedBuffers, Buffers(m))).ToArray(),
            singleLosses, rankLosses);
        foreach (var m in ranks) m.Dispose();
        return run;
    }

    /// <summary>Floating-point buffers (running means and variances) in registration order.</summary>
    private static float[][] Buffers(SegmentationModel model) =>
        model.buffers().Where(b => b.dtype == TorchSharp.torch.ScalarType.Float32)
            .Select(b => b.detach().cpu().data<float>().ToArray()).ToArray();

    private static void RestoreSnapshot(SegmentationModel model, float[][] snapshot)
    {
        using var noGrad = TorchSharp.torch.no_grad();
        foreach (var (p, values) in model.parameters().Zip(snapshot))
            p.copy_(TorchSharp.torch.tensor(values).view(p.shape));
    }

    private static double RelativeL2(float[][] a, float[][] b)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < a[i].Length; j++)
            {
                double d = a[i][j] - b[i][j];
                diff += d * d;
                norm += (double)a[i][j] * a[i][j];
            }
        return Math.Sqrt(diff / norm);
    }
}
