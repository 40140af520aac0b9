using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Data.Loading;

namespace SegCluster.Cluster.Telemetry;

/// <summary>The node's instruments on the one <c>SegCluster</c> meter. Thread-safe: training threads and grains record.</summary>
/// <remarks>
/// Device (CUDA) memory comes from NVML (<see cref="NvmlDeviceMemory"/>): TorchSharp 0.107 exposes no
/// <c>torch.cuda.memory_allocated</c> counterpart. Without a GPU driver the series is absent.
/// </remarks>
public sealed class SegClusterMetrics
{
    /// <summary>Finished experiments (their mIoU series) and finished sweeps (their trial series) still exported per node.</summary>
    public const int FinishedSeriesKept = 32;

    private readonly Counter<long> _images;
    private readonly Histogram<double> _step, _dataWait, _forwardBackward, _optimizer, _allReduce, _allReduceBusy;
    private readonly Counter<long> _allReduceBytes;
    private readonly ConcurrentDictionary<WorkerLabels, WorkerSnapshot> _latest = new();
    private readonly ConcurrentDictionary<WorkerLabels, double> _lossScales = new();
    private readonly Counter<long> _skippedSteps;
    private readonly Counter<long> _experimentsFinished, _recoveries, _stepsRedone;
    private readonly ConcurrentDictionary<(string Experiment, string Node), double> _meanIoU = new();
    private readonly FinishedSeries<string> _finishedExperiments = new(FinishedSeriesKept);
    // Running experiments by id; finished ones only as counts per state (no per-experiment memory that grows).
    private readonly ConcurrentDictionary<string, ExperimentState> _experiments = new();
    private readonly ConcurrentDictionary<ExperimentState, int> _finishedStates = new();
    private readonly ConcurrentDictionary<string, Func<SampleCacheStatistics>> _dataCaches = new();
    private readonly Counter<long> _invalidSamples;
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<TrialState, int>> _sweeps = new();
    private readonly FinishedSeries<string> _finishedSweeps = new(FinishedSeriesKept);
    private SchedulerLoad? _scheduler;
    private readonly LabelSetBudget<WorkerLabels> _workerSeries;
    private readonly LabelSetBudget<string> _sweepSeries;

    // Step phases span milliseconds (CPU tiny models) to seconds (full-resolution steps); the SDK's
    // default buckets are sized for milliseconds.
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    /// <summary>
    /// The step's phases, exported as sum and count only (the node's view drops their buckets): dashboards chart where
    /// a step's time goes as rate(_sum) per worker; only the step time itself keeps buckets, for its quantiles. Each
    /// histogram with buckets costs 18 series per (experiment, worker), kept until the node restarts, so buckets on all six
    /// made a run ~115 series and a long sweep hundreds of thousands per node.
    /// </summary>
    public static readonly IReadOnlySet<string> SumAndCountOnly = new HashSet<string>
    {
        MetricNames.TrainDataWait, MetricNames.TrainForwardBackward, MetricNames.TrainOptimizer, MetricNames.AllReduceDuration, MetricNames.AllReduceBusy,
    };

    /// <summary>States the experiment gauge always reports (zero included), so dashboards show every state. Not Pending: a
    /// queued run has no coordinator yet (the scheduler queue gauge counts it).</summary>
    private static readonly ExperimentState[] ReportedStates =
        [ExperimentState.Running, ExperimentState.Completed, ExperimentState.Failed, ExperimentState.Cancelled];

    /// <param name="options">The node's Telemetry:SeriesLimit (the limit the meter provider's view sets), to warn when it is reached.</param>
    public SegClusterMetrics(IMeterFactory meterFactory, IOptions<TelemetryOptions>? options = null, ILogger<SegClusterMetrics>? logger = null)
    {
        var limit = options?.Value.SeriesLimit ?? TelemetryOptions.DefaultSeriesLimit;
        var log = (ILogger?)logger ?? NullLogger.Instance;
        _workerSeries = new("worker", limit, 1, log);
        _sweepSeries = new("sweep", limit, Enum.GetValues<TrialState>().Length, log);
        var meter = meterFactory.Create(MetricNames.Meter);
        _images = meter.CreateCounter<long>(MetricNames.TrainImages, "{image}", "Training images processed.");
        _step = meter.CreateHistogram(MetricNames.TrainStepDuration, "s", "Wall time of one optimizer step.", tags: null, advice: Seconds);
        _dataWait = meter.CreateHistogram(MetricNames.TrainDataWait, "s", "Time a step waited for its batch.", tags: null, advice: Seconds);
        _forwardBackward = meter.CreateHistogram(MetricNames.TrainForwardBackward, "s", "Forward and backward time of one step.", tags: null, advice: Seconds);
        _optimizer = meter.CreateHistogram(MetricNames.TrainOptimizer, "s", "Optimizer update time of one step.", tags: null, advice: Seconds);
        _allReduce = meter.CreateHistogram(MetricNames.AllReduceDuration, "s", "All-reduce time one step waited for (with buckets overlapping backward, the part backward did not hide).", tags: null, advice: Seconds);
        _allReduceBusy = meter.CreateHistogram(MetricNames.AllReduceBusy, "s", "Time the reducer worked on one step's sums, overlapped with backward or not.", tags: null, advice: Seconds);
        _allReduceBytes = meter.CreateCounter<long>(MetricNames.AllReduceBytes, "By", "Gradient bytes all-reduced.");
        meter.CreateObservableGauge(MetricNames.TrainThroughput, () => Observe(v => v.ImagesPerSecond), "{image}/s", "Images per second of each worker.");
        meter.CreateObservableGauge(MetricNames.TrainLoss, () => Observe(v => v.Loss), null, "Training loss of the latest step.");
        meter.CreateObservableGauge(MetricNames.TrainLossScale,
            () => _lossScales.Select(kv => new Measurement<double>(kv.Value, kv.Key.ToTags())), null, "fp16-mixed dynamic loss scale of the latest step (1 otherwise).");
        _skippedSteps = meter.CreateCounter<long>(MetricNames.TrainSkippedSteps, "{step}", "Steps skipped because the reduced fp16 gradient was not finite.");
        meter.CreateObservableGauge(MetricNames.TrainLearningRate, () => Observe(v => v.LearningRate), null, "Learning rate of the latest step.");
        meter.CreateObservableGauge(MetricNames.AllReduceBandwidth, () => Observe(v => v.AllReduceBytesPerSecond), "By/s",
            "Gradient bytes per second of all-reduce time, latest step of each worker.");
        meter.CreateObservableGauge(MetricNames.EvalMeanIoU, ObserveMeanIoU, null, "Validation mIoU of the latest evaluation of each experiment.");
        meter.CreateObservableGauge(MetricNames.Experiments, ObserveExperiments, "{experiment}", "Experiments coordinated by this node, by state.");
        _experimentsFinished = meter.CreateCounter<long>(MetricNames.ExperimentsFinished, "{experiment}",
            "Experiments that ended while coordinated by this node, by final state (a counter: rate() survives a node restart).");
        _recoveries = meter.CreateCounter<long>(MetricNames.ExperimentRecoveries, "{recovery}", "Rings re-formed after a lost or failed rank.");
        _stepsRedone = meter.CreateCounter<long>(MetricNames.ExperimentStepsRedone, "{step}", "Steps trained again after a re-formation (since the last checkpoint).");
        meter.CreateObservableGauge(MetricNames.ProcessMemory, ObserveMemory, "By", "Resident memory of the node process.");
        meter.CreateObservableGauge(MetricNames.DeviceMemory, ObserveDeviceMemory, "By", "GPU memory used and total, per device (NVML).");
        meter.CreateObservableCounter(MetricNames.DataCacheHits, () => ObserveCaches(c => c.Hits), "{lookup}", "Sample cache lookups served from memory.");
        meter.CreateObservableCounter(MetricNames.DataCacheMisses, () => ObserveCaches(c => c.Misses), "{lookup}", "Sample cache lookups that decoded or generated the sample.");
        meter.CreateObservableGauge(MetricNames.DataCacheSize, () => ObserveCaches(c => c.Bytes), "By", "Bytes held by each dataset split's sample cache.");
        meter.CreateObservableGauge(MetricNames.DataCacheHitRatio, () => ObserveCaches(c => c.HitRate), null, "Hits / lookups of each sample cache since it was created.");
        _invalidSamples = meter.CreateCounter<long>(MetricNames.DataInvalidSamples, "{sample}", "Samples whose files were unusable and were trained as all-ignore.");
        meter.CreateObservableGauge(MetricNames.SchedulerQueue, ObserveSchedulerQueue, "{experiment}",
            "Experiments waiting for a gang of workers (reported by the node hosting the scheduler).");
        meter.CreateObservableGauge(MetricNames.SchedulerWorkers, ObserveSchedulerWorkers, "{worker}",
            "Workers known to the scheduler, by state (free or allocated).");
        meter.CreateObservableGauge(MetricNames.SweepTrials, ObserveSweepTrials, "{trial}",
            "Trials of each sweep coordinated by this node, by state (every state reported, zero included).");
        meter.CreateObservableGauge(MetricNames.TelemetrySeries, ObserveSeries, "{series}",
            "Label sets this node has given each family of metrics since it started; at Telemetry:SeriesLimit new runs go to the overflow series.");
    }

    /// <summary>Records one finished optimizer step of a worker; call after every step, from its training thread.</summary>
    public void RecordStep(WorkerLabels labels, StepReport report, double learningRate)
    {
        _workerSeries.Track(labels);
        var tags = labels.ToTags();
        _images.Add(report.Images, tags);
        _step.Record(report.StepSeconds, tags);
        _dataWait.Record(report.DataWaitSeconds, tags);
        _forwardBackward.Record(report.ForwardBackwardSeconds, tags);
        _optimizer.Record(report.OptimizerSeconds, tags);
        _allReduce.Record(report.AllReduceSeconds, tags);
        _allReduceBytes.Add(report.AllReduceBytes, tags);
        var imagesPerSecond = report.StepSeconds > 0 ? report.Images / report.StepSeconds : 0;
        // Bytes over the time the reducer worked on them: with buckets overlapping backward the wait alone would overstate it.
        var busy = report.AllReduceBusySeconds > 0 ? report.AllReduceBusySeconds : report.AllReduceSeconds;
        _allReduceBusy.Record(busy, tags);
        var bandwidth = busy > 0 ? report.AllReduceBytes / busy : 0;
        _latest[labels] = new WorkerSnapshot(imagesPerSecond, report.Loss, learningRate, bandwidth);
    }

    /// <summary>Records the precision state after a step: the loss scale, and a skipped step (fp16 overflow on some rank).</summary>
    public void RecordLossScale(WorkerLabels labels, double lossScale, bool skipped)
    {
        _lossScales[labels] = lossScale;
        if (skipped) _skippedSteps.Add(1, labels.ToTags());
    }

    /// <summary>Records a validation result. The gauge keeps the latest value of each experiment until
    /// <see cref="FinishedSeriesKept"/> experiments have finished on this node after it; an experiment that validates
    /// again (a re-formed ring whose rank 0 is back on this node) is running, not finished.</summary>
    public void RecordEvaluation(WorkerLabels labels, double meanIoU)
    {
        _finishedExperiments.Reopen(labels.Experiment);
        _meanIoU[(labels.Experiment, labels.Node)] = meanIoU;
    }

    /// <summary>Called by the experiment grain on every state transition.</summary>
    public void RecordExperimentState(string experiment, ExperimentState state)
    {
        if (!state.IsFinal())
        {
            _experiments[experiment] = state;
            return;
        }
        _experiments.TryRemove(experiment, out _);
        _finishedStates.AddOrUpdate(state, 1, (_, count) => count + 1);
        _experimentsFinished.Add(1, new KeyValuePair<string, object?>(MetricNames.Labels.State, state.ToString().ToLowerInvariant()));
        FinishExperiment(experiment);
    }

    /// <summary>Records a ring re-formation and the steps it will train again.</summary>
    public void RecordRecovery(long stepsRedone)
    {
        _recoveries.Add(1);
        _stepsRedone.Add(stepsRedone);
    }

    /// <summary>
    /// The coordinator of an unfinished experiment left this node (deactivated: idle, or its silo shutting down); its next
    /// activation, here or on another node, records the state there. Without this the old node kept counting it, and
    /// the gauge summed over nodes counted one run twice.
    /// </summary>
    public void ForgetCoordinator(string experiment) => _experiments.TryRemove(experiment, out _);

    /// <summary>A worker whose loop ended stops reporting throughput, loss, learning rate and bandwidth (no stale gauges),
    /// and its experiment's mIoU stays among the last <see cref="FinishedSeriesKept"/> finished on this node, however the
    /// loop ended: a failed or cancelled run's coordinator may live on another node, so nothing else would ever finish
    /// it here (each cancelled or failed sweep trial left a series). A ring that re-forms with rank 0 here validates again,
    /// which takes it off the finished list (<see cref="RecordEvaluation"/>).</summary>
    public void Forget(WorkerLabels labels)
    {
        _latest.TryRemove(labels, out _);
        _lossScales.TryRemove(labels, out _);
        FinishExperiment(labels.Experiment);
    }

    private void FinishExperiment(string experiment)
    {
        foreach (var dropped in _finishedExperiments.Finish(experiment))
            foreach (var key in _meanIoU.Keys.Where(k => k.Experiment == dropped)) _meanIoU.TryRemove(key, out _);
    }

    /// <summary>Exports a node-wide sample cache's statistics under <c>dataset</c> until <see cref="ForgetDataCache"/>.</summary>
    public void TrackDataCache(string dataset, Func<SampleCacheStatistics> statistics) => _dataCaches[dataset] = statistics;

    public void ForgetDataCache(string dataset) => _dataCaches.TryRemove(dataset, out _);

    /// <summary>A sample whose files could not be used (named in the log) was trained as all-ignore.</summary>
    public void RecordInvalidSample(string dataset) =>
        _invalidSamples.Add(1, new KeyValuePair<string, object?>(MetricNames.Labels.Dataset, dataset));

    /// <summary>The scheduler's inventory on activation and after each change it records (queue length, free and
    /// allocated workers).</summary>
    public void RecordScheduler(int queued, int freeWorkers, int allocatedWorkers) =>
        _scheduler = new SchedulerLoad(queued, freeWorkers, allocatedWorkers);

    /// <summary>
    /// The scheduler left this node (deactivated: idle, or its silo shutting down); its next activation, here or on
    /// another node, records the inventory there. Without this the old node went on exporting the last inventory it
    /// saw, and the gauges summed over nodes counted the queue and the workers twice.
    /// </summary>
    public void ForgetScheduler() => _scheduler = null;

    /// <summary>The trial states of a sweep, after each change the sweep coordinator records.</summary>
    public void RecordSweepTrials(string sweep, IEnumerable<TrialState> states)
    {
        _sweepSeries.Track(sweep);
        var counts = Enum.GetValues<TrialState>().ToDictionary(s => s, _ => 0);
        foreach (var state in states) counts[state]++;
        _sweeps[sweep] = counts;
        if (Unfinished(counts)) return;
        foreach (var dropped in _finishedSweeps.Finish(sweep)) _sweeps.TryRemove(dropped, out _);
    }

    /// <summary>
    /// The coordinator of a sweep left this node (deactivated: idle, or its silo shutting down). A sweep with pending or
    /// running trials stops being counted here: its next activation, here or on another node, records them there (without
    /// this the gauge summed over nodes counted its trials twice, and a sweep that failed with trials still stopping kept
    /// them running on this node for good). A finished sweep stays until <see cref="FinishedSeriesKept"/> later ones finish.
    /// </summary>
    public void ForgetSweep(string sweep)
    {
        if (_sweeps.TryGetValue(sweep, out var counts) && Unfinished(counts)) _sweeps.TryRemove(KeyValuePair.Create(sweep, counts));
    }

    private static bool Unfinished(IReadOnlyDictionary<TrialState, int> counts) => counts.Any(c => c.Value > 0 && !c.Key.IsFinished());

    private IEnumerable<Measurement<int>> ObserveSeries() =>
        [Used(_workerSeries), Used(_sweepSeries)];

    private static Measurement<int> Used<TKey>(LabelSetBudget<TKey> budget) where TKey : notnull =>
        new(budget.Used, new KeyValuePair<string, object?>(MetricNames.Labels.Family, budget.Family));

    private IEnumerable<Measurement<int>> ObserveSchedulerQueue() =>
        _scheduler is { } load ? [new Measurement<int>(load.Queued)] : [];

    private IEnumerable<Measurement<int>> ObserveSchedulerWorkers() =>
        _scheduler is { } load
            ? [new Measurement<int>(load.Free, new KeyValuePair<string, object?>(MetricNames.Labels.State, "free")),
               new Measurement<int>(load.Allocated, new KeyValuePair<string, object?>(MetricNames.Labels.State, "allocated"))]
            : [];

    private IEnumerable<Measurement<int>> ObserveSweepTrials() =>
        from sweep in _sweeps
        from count in sweep.Value
        select new Measurement<int>(count.Value,
            new KeyValuePair<string, object?>(MetricNames.Labels.Sweep, sweep.Key),
            new KeyValuePair<string, object?>(MetricNames.Labels.State, count.Key.ToString().ToLowerInvariant()));

    private IEnumerable<Measurement<T>> ObserveCaches<T>(Func<SampleCacheStatistics, T> select) where T : struct =>
        _dataCaches.Select(kv => new Measurement<T>(select(kv.Value()), new KeyValuePair<string, object?>(MetricNames.Labels.Dataset, kv.Key)));

    private IEnumerable<Measurement<double>> Observe(Func<WorkerSnapshot, double> select) =>
        _latest.Select(kv => new Measurement<double>(select(kv.Value), kv.Key.ToTags()));

    private IEnumerable<Measurement<double>> ObserveMeanIoU() =>
        _meanIoU.Select(kv => new Measurement<double>(kv.Value,
            new KeyValuePair<string, object?>(MetricNames.Labels.Experiment, kv.Key.Experiment),
            new KeyValuePair<string, object?>(MetricNames.Labels.Node, kv.Key.Node)));

    private IEnumerable<Measurement<int>> ObserveExperiments()
    {
        var states = _experiments.Values.ToList();
        return ReportedStates.Select(s => new Measurement<int>(states.Count(x => x == s) + _finishedStates.GetValueOrDefault(s),
            new KeyValuePair<string, object?>(MetricNames.Labels.State, s.ToString().ToLowerInvariant())));
    }

    private static Measurement<long> ObserveMemory()
    {
        using var process = Process.GetCurrentProcess();
        return new Measurement<long>(process.WorkingSet64, new KeyValuePair<string, object?>(MetricNames.Labels.Kind, "resident"));
    }

    private static IEnumerable<Measurement<long>> ObserveDeviceMemory() =>
        NvmlDeviceMemory.Read().SelectMany(d => new[]
        {
            new Measurement<long>(d.UsedBytes, new(MetricNames.Labels.Device, d.Device), new(MetricNames.Labels.Kind, "used")),
            new Measurement<long>(d.TotalBytes, new(MetricNames.Labels.Device, d.Device), new(MetricNames.Labels.Kind, "total")),
        });

    private sealed record SchedulerLoad(int Queued, int Free, int Allocated);

    private sealed record WorkerSnapshot(double ImagesPerSecond, double Loss, double LearningRate, double AllReduceBytesPerSecond);
}
