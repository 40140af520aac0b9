using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
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

    [Theory]
    [InlineData("spgnet")]
    [InlineData("encoder-decoder")]
    public void TwoRanksOnThreadsMatchOneRankWithTheDoubleBatch(string name)
    {
        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 64, Seed: 5));
        var optimizer = new OptimizerOptions(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);
        var criterion = new SegmentationCriterion(new LossOptions());
        int[] Indices(int step, int first, int count) => Enumerable.Range(step * 2 * PerRank + first, count).ToArray();

        // ignore pixels are present and unevenly split between the ranks' halves
        var ignore = Enumerable.Range(0, Steps * 2 * PerRank).Select(i => scenes.Get(i).Label.Count(l => l == 255)).ToArray();
        Assert.True(ignore.Sum() > 0);

        using var single = TestData.Model(name, 4, 8, NormKind.GroupNorm, seed: 2);
        var initial = TestData.Snapshot(single);
        var singleLosses = new double[Steps];
        using (var trainer = new DataParallelTrainer(single, criterion, optimizer, new SingleRankReducer()))
            for (int s = 0; s < Steps; s++)
            {
                using var batch = TestData.Batch(scenes, Indices(s, 0, 2 * PerRank));
                singleLosses[s] = trainer.Step(batch).Loss;
            }

        var group = new InMemoryReducerGroup(2);
        var ranks = new SegmentationModel[2];
        var rankLosses = new double[2, Steps];
        for (int r = 0; r < 2; r++)
        {
            ranks[r] = TestData.Model(name, 4, 8, NormKind.GroupNorm, seed: 100 + r);
            TestData.CopyWeights(single, ranks[r]);  // overwritten below with the initial weights
        }
        RestoreSnapshot(ranks[0], initial);
        RestoreSnapshot(ranks[1], initial);
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var trainer = new DataParallelTrainer(ranks[r], criterion, optimizer, group[r]);
            for (int s = 0; s < Steps; s++)
            {
                using var batch = TestData.Batch(scenes, Indices(s, r * PerRank, PerRank));
                rankLosses[r, s] = trainer.Step(batch).Loss;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var expected = TestData.Snapshot(single);
        double moved = RelativeL2(initial, expected);
        Assert.True(moved > 1e-3, $"parameters barely moved ({moved}); the comparison would be vacuous");
        for (int r = 0; r < 2; r++)
        {
            double error = RelativeL2(expected, TestData.Snapshot(ranks[r]));
            double maxAbs = MaxAbsDiffOverScale(expected, TestData.Snapshot(ranks[r]));
            output.WriteLine($"{name} rank {r}: relative L2 {error:E2}, max |Δ| / max |p| {maxAbs:E2} (parameters moved {moved:E2})");
            Assert.True(error < Tolerance, $"rank {r}: relative L2 difference {error:E2} ≥ {Tolerance:E0}");
            for (int s = 0; s < Steps; s++)
                Assert.Equal(singleLosses[s], rankLosses[r, s], 1e-4);
        }
        foreach (var m in ranks) m.Dispose();
    }

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

    private static double MaxAbsDiffOverScale(float[][] a, float[][] b)
    {
        double maxDiff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < a[i].Length; j++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(a[i][j] - b[i][j]));
                scale = Math.Max(scale, Math.Abs(a[i][j]));
            }
        return maxDiff / scale;
    }
}
