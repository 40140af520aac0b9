using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using Xunit.Abstractions;

namespace SegCluster.Vision.Tests.Training.Bucketing;

/// <summary>
/// Bucketed all-reduce overlapped with backward must change when the sums happen, never what they are: two ranks train
/// the same steps with tiny buckets (many, most launched during backward) and with one all-reduce after backward, and
/// end with bit-identical parameters (the in-memory group adds the ranks in the same order either way). SyncBatchNorm
/// issues its own all-reduces in backward through the same stream, so it also checks the ordering.
/// </summary>
public class OverlappedGradientReductionTests(ITestOutputHelper output)
{
    private const double TinyBucketMegabytes = 0.002;  // ~2 KB: a bucket per layer or two at width 8

    [Theory]
    [InlineData("spgnet", NormKind.SyncBatchNorm)]
    [InlineData("encoder-decoder", NormKind.SyncBatchNorm)]
    [InlineData("deeplabv3plus", NormKind.GroupNorm)]
    [InlineData("unet", NormKind.GroupNorm)]
    [InlineData("dan", NormKind.GroupNorm)]
    [InlineData("vit", NormKind.GroupNorm)]
    public void TinyBucketsGiveTheSameParametersAsOneAllReduce(string name, NormKind norm)
    {
        var overlapped = Train(name, norm, TinyBucketMegabytes, precision: null, out var steps);
        var serial = Train(name, norm, 0, precision: null, out var serialSteps);
        var last = steps[^1];
        output.WriteLine($"{name}: {last.Buckets} buckets, {last.OverlappedBuckets} started during backward; serial run: {serialSteps[^1].Buckets} bucket");
        Assert.True(last.Buckets > 3, $"only {last.Buckets} buckets: the layout did not split the gradient");
        Assert.True(last.OverlappedBuckets > 0, "no bucket's all-reduce started during backward");
        Assert.Equal(1, serialSteps[^1].Buckets);
        Assert.Equal(0, serialSteps[^1].OverlappedBuckets);
        for (int r = 0; r < 2; r++)
            AssertIdentical(serial[r], overlapped[r], $"rank {r}");
        AssertIdentical(overlapped[0], overlapped[1], "rank 0 vs rank 1");
    }

    /// <summary>The precision policy swaps conv and linear weights per call too; the bucket aliases must compose with it.</summary>
    [Fact]
    public void OverlapComposesWithBf16MixedAndChannelsLast()
    {
        var precision = new PrecisionOptions(PrecisionMode.Bf16Mixed, MemoryFormat.ChannelsLast);
        var overlapped = Train("spgnet", NormKind.SyncBatchNorm, TinyBucketMegabytes, precision, out var steps);
        var serial = Train("spgnet", NormKind.SyncBatchNorm, 0, precision, out _);
        Assert.True(steps[^1].OverlappedBuckets > 0);
        for (int r = 0; r < 2; r++)
            AssertIdentical(serial[r], overlapped[r], $"rank {r}");
    }

    /// <summary>Gradient accumulation: only the last micro-batch's backward launches buckets; earlier ones accumulate.</summary>
    [Fact]
    public void AccumulatedMicroBatchesGiveTheSameParametersAsOneAllReduce()
    {
        var optimizer = Optimizer with { AccumulationSteps = 2 };
        var overlapped = Train("encoder-decoder", NormKind.GroupNorm, TinyBucketMegabytes, null, out var steps, optimizer);
        var serial = Train("encoder-decoder", NormKind.GroupNorm, 0, null, out _, optimizer);
        Assert.True(steps[^1].OverlappedBuckets > 0);
        for (int r = 0; r < 2; r++)
            AssertIdentical(serial[r], overlapped[r], $"rank {r}");
    }

    /// <summary>
    /// A bucket's all-reduce that fails during backward surfaces from Step as the reducer's own exception once backward is
    /// over: no hang in the stream, no exception thrown into native autograd (which would end the process), and the trainer
    /// disposes cleanly. Here the ranks' models differ in width, so their forward sums agree (the loss statistics) and their
    /// first gradient bucket does not: the in-memory group refuses it on both ranks.
    /// </summary>
    [Fact]
    public void ABucketThatFailsDuringBackwardFailsTheStepWithTheReducersException()
    {
        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 4, Seed: 5));
        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(60));  // not the test's subject: both ranks meet the mismatch
        var models = new[] { TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm), TestData.Model("encoder-decoder", 4, 12, NormKind.GroupNorm) };
        var failures = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var model = models[r];
            using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), Optimizer, group[r], bucketMegabytes: TinyBucketMegabytes);
            using var batch = TestData.Batch(scenes, [2 * r, 2 * r + 1]);
            failures[r] = Record.Exception(() => trainer.Step(batch));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int r = 0; r < 2; r++)
        {
            var failure = Assert.IsType<InvalidOperationException>(failures[r]);
            Assert.Contains("differ in length", failure.Message);
        }
    }

    private static readonly OptimizerOptions Optimizer = new(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);

    private static float[][][] Train(string name, NormKind norm, double bucketMegabytes, PrecisionOptions? precision, out StepResult[] lastRank,
        OptimizerOptions? optimizer = null)
    {
        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 16, Seed: 5));
        var criterion = new SegmentationCriterion(new LossOptions());
        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(60));
        var snapshots = new float[2][][];
        var results = new StepResult[2][];
        var failures = new Exception?[2];
        // Built here, one after the other: the seeded initialisation draws from torch's one global generator.
        var models = Enumerable.Range(0, 2).Select(_ => TestData.Model(name, 4, 8, norm, seed: 2)).ToArray();
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try
            {
                using var model = models[r];
                using var trainer = new DataParallelTrainer(model, criterion, optimizer ?? Optimizer, group[r], precision, bucketMegabytes);
                results[r] = [.. Enumerable.Range(0, 2).Select(s =>
                {
                    using var batch = TestData.Batch(scenes, [4 * s + 2 * r, 4 * s + 2 * r + 1]);
                    return trainer.Step(batch);
                })];
                snapshots[r] = TestData.Snapshot(model);
            }
            catch (Exception e)
            {
                failures[r] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var failure in failures)
            if (failure is not null) throw new InvalidOperationException($"a rank failed: {failure.Message}", failure);
        lastRank = results[0];
        return snapshots;
    }

    private static void AssertIdentical(float[][] expected, float[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var report = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            int differ = expected[i].Zip(actual[i]).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
            if (differ > 0) report.Add($"{i}:{differ}/{expected[i].Length} max {expected[i].Zip(actual[i]).Max(p => Math.Abs(p.First - p.Second)):E1}");
        }
        Assert.True(report.Count == 0, $"{what}: parameters differ: {string.Join(", ", report.Take(12))}");
    }
}
