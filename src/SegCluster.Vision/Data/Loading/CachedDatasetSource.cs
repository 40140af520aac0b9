namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// A dataset whose samples are already training-ready (the synthetic scenes): the same sample every epoch,
/// cached as is.
/// </summary>
public sealed class CachedDatasetSource(ISegmentationDataset dataset, long cacheBytes) : ISampleSource
{
    private readonly SampleCache<SegmentationSample> _cache = new(cacheBytes, s => s.Image.LongLength * sizeof(float) + s.Label.LongLength);

    public int Count => dataset.Count;

    public int NumClasses => dataset.NumClasses;

    public IReadOnlyList<string> ClassNames => dataset.ClassNames;

    public SampleCacheStatistics CacheStatistics => _cache.Statistics;

    public SegmentationSample Get(int index) => Load(index, epoch: 0);

    public SegmentationSample Load(int index, int epoch) => _cache.GetOrLoad(index, dataset.Get);
}
