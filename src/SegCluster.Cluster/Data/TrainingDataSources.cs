using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;

namespace SegCluster.Cluster.Data;

/// <summary>
/// The node's sample data, one share per dataset split, used by every local worker that trains on it, so each
/// sample is decoded once per node and its cache (byte budget <see cref="DataOptions.CacheBytes"/>) serves all
/// ranks: the ranks' slices of one epoch are disjoint, but the next epoch deals the same samples out again.
/// Files: runs share the decoded samples only; each lease augments them with its own spec's seed, scale range,
/// flip probability and colour jitter (sweep trials vary these on the same files). Synthetic scenes are shared whole,
/// keyed by every option that generates them. A share lives while a worker holds a lease on it; its cache statistics
/// are exported as metrics.
/// </summary>
public sealed class TrainingDataSources(IOptions<DataOptions> options, SegClusterMetrics metrics, ILogger<TrainingDataSources> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (SharedSplit Split, int Users)> _shared = new();

    public DataOptions Options => options.Value;

    /// <summary>The training (augmented, epoch-dependent) or evaluation (resized) source of the spec's dataset.
    /// The spec must be resolved (<see cref="DatasetSpecResolver"/>).</summary>
    public SampleSourceLease Acquire(ExperimentSpec spec, bool training)
    {
        var d = spec.Dataset;
        var split = training ? d.TrainSplit : d.ValidationSplit;
        var name = d.Kind == DatasetSpec.Files
            ? $"{d.Format}:{d.Path}/{split}"  // decoded files depend on nothing else: runs of other crop sizes share them
            : $"{d.Identity(spec.Seed)}-{(training ? d.TrainCount : d.ValidationCount)}/{split}";  // the count too: another count is another dataset
        lock (_lock)
        {
            if (_shared.TryGetValue(name, out var entry))
                _shared[name] = (entry.Split, entry.Users + 1);
            else
            {
                var created = Share(spec, training);
                _shared[name] = (created, 1);
                metrics.TrackDataCache(name, () => created.CacheStatistics);
            }
            return new SampleSourceLease(SourceOf(_shared[name].Split, spec, training, name), name, () => Release(name));
        }
    }

    private SharedSplit Share(ExperimentSpec spec, bool training)
    {
        var d = spec.Dataset;
        if (d.Kind != DatasetSpec.Files)
            return new SharedSplit(new CachedDatasetSource(new SyntheticSceneDataset(training ? SpecMapping.TrainData(spec) : SpecMapping.ValidationData(spec)), Options.CacheBytes), null);
        var layout = DatasetLayoutDetector.Open(d.Path!, d.Format);
        return new SharedSplit(null, new DecodedSplit(new FileSegmentationDataset(layout, training ? d.TrainSplit : d.ValidationSplit), Options.CacheBytes));
    }

    /// <summary>This lease's view of the shared split: for files, augmented with this spec's own options and seed; for
    /// training on scribbles, with the strokes this spec's seed draws; for files in block mode, painted with each mask's
    /// blocks before augmentation.</summary>
    private ISampleSource SourceOf(SharedSplit shared, ExperimentSpec spec, bool training, string name)
    {
        var scribbles = training ? SpecMapping.TrainingScribbles(spec) : null;
        if (shared.Decoded is not { } decoded)
            return scribbles is null ? shared.Synthetic! : new ScribbledSource(shared.Synthetic!, scribbles);
        var d = spec.Dataset;
        var annotation = training && SpecMapping.TrainingAnnotation(spec) is { } fresh ? shared.Annotations.GetOrAdd(fresh.Key, fresh) : null;
        var augmentation = new AugmentationOptions(d.Height, d.Width, d.MinScale, d.MaxScale, d.FlipProbability, d.ColorJitter, d.ColorJitter, d.ColorJitter,
            SparseLabels: training && SpecMapping.TrainsOnScribbles(spec) && annotation is not PaintedBlocks);  // painted blocks are dense: nearest, as masks
        // Each rank loads every W-th sample, in training and validation alike.
        var source = new AugmentedFileSource(decoded, augmentation, spec.Seed, training, annotation) { MaxInvalidFraction = d.MaxInvalidFraction, Coverage = 1.0 / spec.Workers };
        source.InvalidSample += e =>
        {
            logger.LogWarning("{Dataset}: sample ignored (all pixels ignore): {Problem}", name, e.Message);
            metrics.RecordInvalidSample(name);
        };
        return source;
    }

    private void Release(string name)
    {
        lock (_lock)
        {
            var (split, users) = _shared[name];
            if (users > 1)
            {
                _shared[name] = (split, users - 1);
                return;
            }
            _shared.Remove(name);
            metrics.ForgetDataCache(name);
        }
    }

    /// <summary>What the leases of one name share: the whole synthetic source, or the decoded files.</summary>
    private sealed record SharedSplit(ISampleSource? Synthetic, DecodedSplit? Decoded)
    {
        /// <summary>Weak annotations of the decoded files by <see cref="IWeakAnnotation.Key"/>: the node's ranks (and runs) that
        /// annotate alike share one, so its kept blocks (1/b² of each mask) are held once per node while the split is leased.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<string, IWeakAnnotation> Annotations { get; } = new();

        public SampleCacheStatistics CacheStatistics => Decoded?.CacheStatistics ?? Synthetic!.CacheStatistics;
    }
}
