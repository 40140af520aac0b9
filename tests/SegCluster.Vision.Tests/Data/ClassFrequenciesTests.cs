using SegCluster.Vision.Data;

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

        Assert.Equal(0.5, frequencies[0], 12);
        Assert.Equal(0.5, frequencies[1], 12);
        Assert.Equal(0.5 / (64 * 4), frequencies[2], 12);  // never seen: half a pixel's share
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
