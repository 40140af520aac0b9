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
}
