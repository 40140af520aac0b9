using SegCluster.Vision.Data;
using SegCluster.Vision.Metrics;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary>Validation spread over ranks (each takes every W-th sample, counts summed through the reducer) gives every
/// rank exactly the confusion matrix of one rank evaluating every sample.</summary>
public sealed class EvaluatorAcrossRanksTests
{
    /// <summary>Also under training.wire: fp16, which rounds what Sum carries: the counts must take the exact path
    /// (before, K ≥ 182 classes made the counts buffer long enough to travel in fp16, and mIoU came out rounded).</summary>
    [Theory]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(2, true)]
    public void Ranks_sum_to_the_single_rank_confusion_matrix(int worldSize, bool fp16Wire)
    {
        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 7, Seed: 5));
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm);
        var expected = Evaluator.EvaluateConfusion(model, data, Enumerable.Range(0, data.Count).ToList(), 3, CPU).Counts;

        var group = new InMemoryReducerGroup(worldSize);
        var results = new ConfusionMatrix[worldSize];
        // Each rank its own copy of the weights (the evaluator switches its model's mode), on its own thread as workers run.
        var copies = Enumerable.Range(0, worldSize).Select(_ => TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm)).ToArray();
        var threads = Enumerable.Range(0, worldSize)
            .Select(r => new Thread(() => results[r] = Evaluator.EvaluateAcrossRanks(copies[r], data, 3, CPU,
                fp16Wire ? new Fp16WireReducer(group[r]) : group[r]))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var copy in copies) copy.Dispose();

        Assert.True(expected.Count(c => c > 0) > 1, "the matrix should not be trivial");
        foreach (var result in results) Assert.Equal(expected, result.Counts);
    }

    /// <summary>A known case: a network whose weights are all zero but the classifier's bias for class 2 predicts 2 at every
    /// pixel, so each labelled pixel of the chosen samples lands once in column 2 of its label's row (ignore pixels
    /// nowhere), over batches of 3 with a short last one, and the IoU of class 2 is its pixels over all labelled ones.</summary>
    [Fact]
    public void A_constant_prediction_counts_every_labelled_pixel_of_the_chosen_samples_once()
    {
        const int classes = 4, predicted = 2;
        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: classes, Height: 32, Width: 32, Count: 9, Seed: 5));
        using var model = TestData.Model("encoder-decoder", classes, 8, NormKind.BatchNorm);
        var classifierBias = model.named_parameters().Last(p => p.name.EndsWith("bias", StringComparison.Ordinal)).parameter;
        Assert.Equal([classes], classifierBias.shape);
        using (no_grad())
        {
            foreach (var p in model.parameters()) p.zero_();
            classifierBias[predicted] = 1f;
        }
        int[] chosen = [0, 2, 3, 5, 6, 8, 1];

        var counts = Evaluator.EvaluateConfusion(model, data, chosen, batchSize: 3, CPU).Counts;

        var expected = new long[classes * classes];
        foreach (var label in chosen.SelectMany(i => data.Get(i).Label).Where(l => l != SegmentationSample.IgnoreLabel))
            expected[label * classes + predicted]++;
        Assert.True(expected.Count(c => c > 0) > 1, "the labels should hold more than one class");
        Assert.Equal(expected, counts);
        var metrics = Evaluator.Evaluate(model, data, chosen, 3, CPU);
        Assert.Equal(expected[predicted * classes + predicted] / (double)expected.Sum(), metrics.ClassIoU[predicted], 12);
    }

    /// <summary>Cancelling stops an evaluation at the next batch (a cancelled run's worker is handed to the next run at
    /// once; a full-resolution evaluation could hold it for minutes) and leaves the model in its training mode.</summary>
    [Fact]
    public void A_cancelled_evaluation_stops_at_the_next_batch()
    {
        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 6, Seed: 5));
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm);
        model.train();
        using var cancel = new CancellationTokenSource();
        var loaded = 0;
        var counting = new CountingDataset(data, () => { if (++loaded == 2) cancel.Cancel(); });

        Assert.Throws<OperationCanceledException>(() => Evaluator.EvaluateConfusion(model, counting, Enumerable.Range(0, 6).ToList(), 2, CPU, cancel.Token));

        Assert.Equal(2, loaded);  // the first batch only
        Assert.True(model.training);
    }

    private sealed class CountingDataset(ISegmentationDataset inner, Action onGet) : ISegmentationDataset
    {
        public int Count => inner.Count;
        public int NumClasses => inner.NumClasses;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;

        public SegmentationSample Get(int index)
        {
            onGet();
            return inner.Get(index);
        }
    }

    /// <summary>A gradient wire that compresses to fp16, as the TCP ring's training.wire: fp16 does for long buffers:
    /// what each rank sends and the sums it passes on are rounded; full-precision sums pass as they are.</summary>
    private sealed class Fp16WireReducer(IGradientReducer inner) : IGradientReducer
    {
        public int Rank => inner.Rank;
        public int WorldSize => inner.WorldSize;

        public void Sum(Memory<float> buffer)
        {
            Round(buffer.Span);
            inner.Sum(buffer);
            Round(buffer.Span);  // partial sums travel in fp16 too
        }

        private static void Round(Span<float> values)
        {
            foreach (ref var value in values) value = (float)(Half)value;
        }

        public void SumFullPrecision(Memory<float> buffer) => inner.SumFullPrecision(buffer);
    }
}
