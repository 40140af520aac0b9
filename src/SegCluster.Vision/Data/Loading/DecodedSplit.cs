using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// A split on disk with its decoded samples cached (decoding is the expensive part). Decoded samples depend on the
/// files alone, so one instance serves every run that reads the split, whatever seed and augmentation each applies
/// next (<see cref="AugmentedFileSource"/>). Thread-safe.
/// </summary>
public sealed class DecodedSplit(FileSegmentationDataset dataset, long cacheBytes)
{
    private readonly SampleCache<DecodedSample> _cache = new(cacheBytes, s => s.Bytes);

    public FileSegmentationDataset Dataset => dataset;

    public SampleCacheStatistics CacheStatistics => _cache.Statistics;

    /// <summary>Sample <paramref name="index"/> decoded, from the cache when there.</summary>
    /// <exception cref="DatasetFileException">The sample's files are unusable (the message names the file).</exception>
    public DecodedSample Decode(int index) => _cache.GetOrLoad(index, dataset.Decode);
}
