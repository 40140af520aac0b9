using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Telemetry;

/// <summary>The node's instruments on the one <c>SegCluster</c> meter. Thread-safe: training threads record.</summary>
public sealed class SegClusterMetrics
{
    private readonly Counter<long> _images;
    private readonly Histogram<double> _step, _dataWait, _forwardBackward, _optimizer, _allReduce;
    private readonly Counter<long> _allReduceBytes;
    private readonly ConcurrentDictionary<WorkerLabels, (double ImagesPerSecond, double Loss)> _latest = new();

    // Step phases span milliseconds (CPU tiny models) to seconds (full-resolution steps); the SDK's
    // default buckets are sized for milliseconds.
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    public SegClusterMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MetricNames.Meter);
        _images = meter.CreateCounter<long>(MetricNames.TrainImages, "{image}", "Training images processed.");
        _step = meter.CreateHistogram(MetricNames.TrainStepDuration, "s", "Wall time of one optimizer step.", tags: null, advice: Seconds);
        _dataWait = meter.CreateHistogram(MetricNames.TrainDataWait, "s", "Time a step waited for its batch.", tags: null, advice: Seconds);
        _forwardBackward = meter.CreateHistogram(MetricNames.TrainForwardBackward, "s", "Forward and backward time of one step.", tags: null, advice: Seconds);
        _optimizer = meter.CreateHistogram(MetricNames.TrainOptimizer, "s", "Optimizer update time of one step.", tags: null, advice: Seconds);
        _allReduce = meter.CreateHistogram(MetricNames.AllReduceDuration, "s", "Gradient all-reduce time of one step.", tags: null, advice: Seconds);
        _allReduceBytes = meter.CreateCounter<long>(MetricNames.AllReduceBytes, "By", "Gradient bytes all-reduced.");
        meter.CreateObservableGauge(MetricNames.TrainThroughput, () => Observe(v => v.ImagesPerSecond), "{image}/s", "Images per second of each worker.");
        meter.CreateObservableGauge(MetricNames.TrainLoss, () => Observe(v => v.Loss), null, "Training loss of the latest step.");
        meter.CreateObservableGauge(MetricNames.ProcessMemory, ObserveMemory, "By", "Resident memory of the node process.");
    }

    public void RecordStep(WorkerLabels labels, StepReport report)
    {
        var tags = labels.ToTags();
        _images.Add(report.Images, tags);
        _step.Record(report.StepSeconds, tags);
        _dataWait.Record(report.DataWaitSeconds, tags);
        _forwardBackward.Record(report.ForwardBackwardSeconds, tags);
        _optimizer.Record(report.OptimizerSeconds, tags);
        _allReduce.Record(report.AllReduceSeconds, tags);
        _allReduceBytes.Add(report.AllReduceBytes, tags);
        var imagesPerSecond = report.StepSeconds > 0 ? report.Images / report.StepSeconds : 0;
        _latest[labels] = (imagesPerSecond, report.Loss);
    }

    /// <summary>A worker that finished stops reporting throughput (no stale gauges).</summary>
    public void Forget(WorkerLabels labels) => _latest.TryRemove(labels, out _);

    private IEnumerable<Measurement<double>> Observe(Func<(double ImagesPerSecond, double Loss), double> select) =>
        _latest.Select(kv => new Measurement<double>(select(kv.Value), kv.Key.ToTags()));

    private static Measurement<long> ObserveMemory()
    {
        using var process = Process.GetCurrentProcess();
        return new Measurement<long>(process.WorkingSet64, new KeyValuePair<string, object?>("kind", "resident"));
    }
}
