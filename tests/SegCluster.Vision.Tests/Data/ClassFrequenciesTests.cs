using SegCluster.Vision.Data;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;

namespace SegCluster.Vision.Tests.Data;

/// <summary>Inverse-frequency class sampling (PAPERS.md §4) measures frequencies on samples spread through the dataset:
/// the first 64 of a sorted file list are one city or scene type, and gave every class outside them the floor share.</summary>
public sealed class ClassFrequenciesTests
{
    [Fact]
    public void Frequencies_come_from_samples_spread_through_the_dataset_not_its_first_ones()
    {
        // 256 samples of 4 pixels: the first half all class 0, the second half all class 1, ignore nowhere.
        var dataset = new Halves(256);

        var frequencies = ClassFrequencies.Measure(dataset, samples: 64);

        Assert.Equal([0.5, 0.5, 0.0], frequencies);  // class 2 never seen: no invented pixels
    }

    /// <summary>A class the measured samples miss used to weigh 1 / (half a pixel's share) and take ~99% of the drops
    /// here (~99.998% on 64 Cityscapes-sized crops), so the classes present were no longer suppressed. It now counts
    /// half as frequent as the rarest class seen: shares 1/4, 1/4, 1/2.</summary>
    [Fact]
    public void A_class_missing_from_the_measured_samples_takes_a_bounded_share_of_the_drops()
    {
        var frequencies = ClassFrequencies.Measure(new Halves(256), samples: 64);
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None),
            new ClassSuppressionOptions(EndEpoch: 1, ClassFrequencies: frequencies, Seed: 5));
        const int draws = 300;
        var counts = TestData.DropCounts(model, draws);  // p = 1
        var shares = string.Join(", ", counts);
        Assert.True(counts[2] < 0.7 * draws, $"drops per class {shares}: the unseen class takes nearly all");
        Assert.True(counts[2] > counts[0] && counts[2] > counts[1], $"drops per class {shares}: the unseen class is the rarest");
        Assert.True(counts[0] > 0.1 * draws && counts[1] > 0.1 * draws, $"drops per class {shares}");
        Assert.Equal([0.25, 0.25, 0.5], model.DropShares.Select(s => Math.Round(s, 12)));
    }

    private sealed class Halves(int count) : ISegmentationDataset
    {
        public int Count => count;
        public int NumClasses => 3;
        public IReadOnlyList<string> ClassNames => ["a", "b", "c"];

        public SegmentationSample Get(int index) =>
            new(new float[3 * 4], [.. Enumerable.Repeat((byte)(index < count / 2 ? 0 : 1), 4)], 2, 2);
    }
}
