namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// Training-ready samples of one split: what a sample looks like may depend on the epoch (augmentation), never on
/// the thread or the order of calls. Implementations are thread-safe. As an <see cref="ISegmentationDataset"/>,
/// <see cref="ISegmentationDataset.Get"/> is the epoch-0 view (what evaluation uses).
/// </summary>
public interface ISampleSource : ISegmentationDataset
{
    /// <summary>Statistics of the cache behind this source.</summary>
    SampleCacheStatistics CacheStatistics { get; }

    /// <summary>Sample <paramref name="index"/> as seen in <paramref name="epoch"/>.</summary>
    SegmentationSample Load(int index, int epoch);
}
