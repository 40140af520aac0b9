namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// Training-ready samples of one split: what a sample looks like may depend on the epoch (augmentation), never on
/// the thread or the order of calls. Implementations are thread-safe.
/// </summary>
public interface ISampleSource
{
    int Count { get; }

    int NumClasses { get; }

    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Statistics of the cache behind this source.</summary>
    SampleCacheStatistics CacheStatistics { get; }

    /// <summary>Sample <paramref name="index"/> as seen in <paramref name="epoch"/>.</summary>
    SegmentationSample Load(int index, int epoch);
}
