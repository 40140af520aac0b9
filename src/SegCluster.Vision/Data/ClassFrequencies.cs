namespace SegCluster.Vision.Data;

/// <summary>Pixel frequency of each class over samples spread evenly through a dataset (ignore pixels excluded):
/// the input of inverse-frequency class sampling (PAPERS.md §4).</summary>
public static class ClassFrequencies
{
    /// <summary>Samples <see cref="Measure"/> reads unless told otherwise.</summary>
    public const int DefaultSamples = 64;

    /// <summary>K frequencies summing to 1 over <paramref name="samples"/> samples taken evenly through the dataset
    /// (not the first ones: readers list files sorted, so those are one city or one scene type); a class never seen
    /// gets 0: the sampler, not an invented pixel count, decides its share
    /// (<see cref="Models.Debiasing.ClassSuppressionOptions.DropShares"/>: half as frequent as the rarest class seen).</summary>
    public static IReadOnlyList<double> Measure(ISegmentationDataset dataset, int samples = DefaultSamples)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var counts = new double[dataset.NumClasses];
        var taken = Math.Min(samples, dataset.Count);
        for (int k = 0; k < taken; k++)
            foreach (byte label in dataset.Get((int)((long)k * dataset.Count / taken)).Label)
                if (label < counts.Length) counts[label]++;
        double total = counts.Sum();
        return counts.Select(c => c / Math.Max(total, 1)).ToArray();
    }
}
