namespace SegCluster.Vision.Data;

/// <summary>Pixel frequency of each class over the first samples of a dataset (ignore pixels excluded):
/// the input of inverse-frequency class sampling (PAPERS.md §4).</summary>
public static class ClassFrequencies
{
    /// <summary>K frequencies summing to 1 over the first <paramref name="samples"/> samples; a class never seen
    /// gets half a pixel's share, so its inverse stays finite (it is then drawn most often).</summary>
    public static IReadOnlyList<double> Measure(ISegmentationDataset dataset, int samples = 64)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var counts = new double[dataset.NumClasses];
        for (int i = 0; i < Math.Min(samples, dataset.Count); i++)
            foreach (byte label in dataset.Get(i).Label)
                if (label < counts.Length) counts[label]++;
        double total = counts.Sum();
        return counts.Select(c => Math.Max(c, 0.5) / Math.Max(total, 1)).ToArray();
    }
}
