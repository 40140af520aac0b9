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
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Ranks_sum_to_the_single_rank_confusion_matrix(int worldSize)
    {
        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 7, Seed: 5));
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm);
        var expected = Evaluator.EvaluateConfusion(model, data, Enumerable.Range(0, data.Count).ToList(), 3, CPU).Counts;

        var group = new InMemoryReducerGroup(worldSize);
        var results = new ConfusionMatrix[worldSize];
        // Each rank its own copy of the weights (the evaluator switches its model's mode), on its own thread as workers run.
        var copies = Enumerable.Range(0, worldSize).Select(_ => TestData.Model("encoder-decoder", 4, 8, NormKind.BatchNorm)).ToArray();
        var threads = Enumerable.Range(0, worldSize)
            .Select(r => new Thread(() => results[r] = Evaluator.EvaluateAcrossRanks(copies[r], data, 3, CPU, group[r]))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var copy in copies) copy.Dispose();

        Assert.True(expected.Count(c => c > 0) > 1, "the matrix should not be trivial");
        foreach (var result in results) Assert.Equal(expected, result.Counts);
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
}
