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
/// The node's sample sources, one per dataset split, shared by every local worker that trains on it, so each
/// sample is decoded once per node and its cache (byte budget <see cref="DataOptions.CacheBytes"/>) serves all
/// ranks: the ranks' slices of one epoch are disjoint, but the next epoch deals the same samples out again.
/// A source lives while a worker holds a lease on it; its cache statistics are exported as metrics.
/// </summary>
public sealed class TrainingDataSources(IOptions<DataOptions> options, SegClusterMetrics metrics, ILogger<TrainingDataSources> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (ISampleSource Source, int Users)> _sources = new();

    public DataOptions Options => options.Value;

    /// <summary>The training (augmented, epoch-dependent) or evaluation (resized) source of the spec's dataset.
    /// The spec must be resolved (<see cref="DatasetSpecResolver"/>).</summary>
    public SampleSourceLease Acquire(ExperimentSpec spec, bool training)
    {
        var d = spec.Dataset;
        var name = $"{d.Identity(spec.Seed)}/{(training ? d.TrainSplit : d.ValidationSplit)}";
        lock (_lock)
        {
            if (_sources.TryGetValue(name, out var entry))
                _sources[name] = (entry.Source, entry.Users + 1);
            else
            {
                var source = Create(spec, training, name);
                _sources[name] = (source, 1);
                metrics.TrackDataCache(name, () => source.CacheStatistics);
            }
            return new SampleSourceLease(_sources[name].Source, name, () => Release(name));
        }
    }

    private ISampleSource Create(ExperimentSpec spec, bool training, string name)
    {
        var d = spec.Dataset;
        if (d.Kind != DatasetSpec.Files)
            return new CachedDatasetSource(new SyntheticSceneDataset(training ? SpecMapping.TrainData(spec) : SpecMapping.ValidationData(spec)), Options.CacheBytes);

        var layout = DatasetLayoutDetector.Open(d.Path!, d.Format);
        var dataset = new FileSegmentationDataset(layout, training ? d.TrainSplit : d.ValidationSplit);
        var augmentation = new AugmentationOptions(d.Height, d.Width, d.MinScale, d.MaxScale, d.FlipProbability, d.ColorJitter, d.ColorJitter, d.ColorJitter);
        var source = new AugmentedFileSource(dataset, augmentation, Options.CacheBytes, spec.Seed, training);
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
            var (source, users) = _sources[name];
            if (users > 1)
            {
                _sources[name] = (source, users - 1);
                return;
            }
            _sources.Remove(name);
            metrics.ForgetDataCache(name);
        }
    }
}
