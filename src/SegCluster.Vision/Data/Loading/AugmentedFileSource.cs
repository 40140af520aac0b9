using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// A split on disk for training or evaluation: decoded samples come from a <see cref="DecodedSplit"/> (its cache may be
/// shared with other runs), then are augmented per (seed, epoch, index) for training, or resized for evaluation.
/// A sample whose files are unusable (corrupt image, missing mask, mask value out of range) becomes an all-ignore
/// sample of the output size: it adds no loss and no gradient, the batch keeps its size (every rank takes the same
/// number of steps), and <see cref="InvalidSample"/> reports the file once so the run can log it. More unusable samples
/// than <see cref="MaxInvalidFraction"/> of the split stop it with a <see cref="TooManyInvalidSamplesException"/>.
/// With a weak annotation (<see cref="DrawnScribbles"/>, <see cref="PaintedBlocks"/>), the labels are that annotation,
/// made from each full mask before augmentation, so an image keeps its strokes or blocks in every crop and epoch
/// (PAPERS.md §2 and §5 train on a fixed weak annotation).
/// </summary>
public sealed class AugmentedFileSource : ISampleSource
{
    private readonly DecodedSplit _decoded;
    private readonly SegmentationAugmenter _augmenter;
    private readonly int _seed;
    private readonly bool _training;
    private readonly IWeakAnnotation? _annotation;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, DatasetFileException> _invalid = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> _tried = new();  // distinct indices loaded

    /// <param name="annotation">Makes the training labels from the full masks (scribbles for a dataset without scribbles of its own,
    /// blocks); null: the masks as they are.</param>
    public AugmentedFileSource(DecodedSplit decoded, AugmentationOptions augmentation, int seed, bool training, IWeakAnnotation? annotation = null)
    {
        _decoded = decoded;
        _augmenter = new SegmentationAugmenter(augmentation);
        _seed = seed;
        _training = training;
        _annotation = annotation;
    }

    /// <summary>The weak annotation the training labels are made with, or null for the masks as they are.</summary>
    public IWeakAnnotation? Annotation => _annotation;

    /// <summary>A source with a decoded-sample cache of its own.</summary>
    public AugmentedFileSource(FileSegmentationDataset dataset, AugmentationOptions augmentation, long cacheBytes, int seed, bool training)
        : this(new DecodedSplit(dataset, cacheBytes), augmentation, seed, training)
    {
    }

    /// <summary>Raised once per unusable sample, with the error that names its file.</summary>
    public event Action<DatasetFileException>? InvalidSample;

    public int Count => _decoded.Dataset.Count;

    public int NumClasses => _decoded.Dataset.NumClasses;

    public IReadOnlyList<string> ClassNames => _decoded.Dataset.ClassNames;

    public SampleCacheStatistics CacheStatistics => _decoded.CacheStatistics;

    /// <summary>The share of the split that may be unusable; one more sample is an error (1: no limit).</summary>
    public double MaxInvalidFraction { get; init; } = 1.0;

    /// <summary>The share of the split one epoch of this source loads (a rank's 1/W slice). The limit applies to the
    /// distinct samples tried so far, and to at least this share: against the whole split, each of W ranks stopped only
    /// after W times the allowed number in its own slice; against the share alone, a rank whose slices change every
    /// epoch (or that evaluates the whole split) would be held to 1/W of what it has read.</summary>
    public double Coverage { get; init; } = 1.0;

    public SegmentationSample Get(int index) => Load(index, epoch: 0);

    public SegmentationSample Load(int index, int epoch)
    {
        if (_invalid.ContainsKey(index)) return IgnoredSample();
        _tried.TryAdd(index, 0);
        DecodedSample decoded;
        try
        {
            decoded = _decoded.Decode(index);
        }
        catch (DatasetFileException e)
        {
            if (_invalid.TryAdd(index, e)) InvalidSample?.Invoke(e);
            var judged = Math.Max(_tried.Count, (int)Math.Ceiling(Count * Coverage));
            if (_invalid.Count > MaxInvalidFraction * judged)
                throw new TooManyInvalidSamplesException(_invalid.Count, judged, Count, MaxInvalidFraction, _invalid.MinBy(i => i.Key).Value);
            return IgnoredSample();
        }
        if (_annotation is not null)  // a copy: the decoded sample is cached and may be shared with other runs
            decoded = decoded with { Label = _annotation.Paint(index, decoded.Label, decoded.Height, decoded.Width) };
        return _training ? _augmenter.Train(decoded, _seed, epoch, index) : _augmenter.Evaluate(decoded);
    }

    private SegmentationSample IgnoredSample()
    {
        int h = _augmenter.Options.Height, w = _augmenter.Options.Width;
        var label = new byte[h * w];
        Array.Fill(label, SegmentationSample.IgnoreLabel);
        // No content at all: image-dependent regularisers (PAPERS.md §5 R(S)) skip it as they skip crop padding.
        return new SegmentationSample(new float[3 * h * w], label, h, w) { Content = (0, 0) };
    }
}
