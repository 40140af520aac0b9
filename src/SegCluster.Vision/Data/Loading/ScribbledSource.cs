using SegCluster.Vision.Labels;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// A source whose samples are not augmented (the synthetic scenes), with each label replaced by scribbles drawn from
/// it (PAPERS.md §5): the same strokes for an image in every epoch, batch and rank. Augmented files draw theirs
/// before augmentation instead (<see cref="AugmentedFileSource"/>).
/// </summary>
public sealed class ScribbledSource(ISampleSource inner, ScribbleSynthesizer synthesizer) : ISampleSource
{
    private readonly DrawnScribbles _scribbles = new(synthesizer);

    public int Count => inner.Count;

    public int NumClasses => inner.NumClasses;

    public IReadOnlyList<string> ClassNames => inner.ClassNames;

    public SampleCacheStatistics CacheStatistics => inner.CacheStatistics;

    public SegmentationSample Get(int index) => Load(index, epoch: 0);

    public SegmentationSample Load(int index, int epoch)
    {
        var sample = inner.Load(index, epoch);
        return sample with { Label = _scribbles.Paint(index, sample.Label, sample.Height, sample.Width) };
    }
}
