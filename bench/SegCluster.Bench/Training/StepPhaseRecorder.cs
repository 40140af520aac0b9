using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Bench.Training;

/// <summary>
/// Listens to the node's own step telemetry (the <see cref="MetricNames.Meter"/> histograms each worker records once
/// per step from its StepReport) in this process, so the bench reads the same phase split that /metrics exports,
/// per step and per worker rather than as histogram buckets.
/// </summary>
internal sealed class StepPhaseRecorder : IDisposable
{
    /// <summary>The instruments read, in the order a worker records them for one step.</summary>
    public static readonly string[] Phases =
        [MetricNames.TrainStepDuration, MetricNames.TrainDataWait, MetricNames.TrainForwardBackward, MetricNames.TrainOptimizer, MetricNames.AllReduceDuration];

    private readonly MeterListener _listener = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<(string Experiment, string Worker, string Instrument, double Value, double At)> _samples = new();

    public StepPhaseRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MetricNames.Meter && (Phases.Contains(instrument.Name) || instrument.Name is MetricNames.AllReduceBytes or MetricNames.AllReduceBusy))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>One worker's steps of <paramref name="experiment"/>: per step, each phase's seconds, the gradient bytes
    /// all-reduced, and when the step's report arrived (seconds on this recorder's clock).</summary>
    public IReadOnlyList<IReadOnlyList<WorkerStep>> Steps(string experiment)
    {
        var samples = _samples.Where(s => s.Experiment == experiment).ToList();
        return [.. samples.GroupBy(s => s.Worker).OrderBy(g => g.Key, StringComparer.Ordinal).Select(worker =>
        {
            List<double> Values(string name) => [.. worker.Where(s => s.Instrument == name).Select(s => s.Value)];
            var at = worker.Where(s => s.Instrument == MetricNames.TrainStepDuration).Select(s => s.At).ToList();
            var (step, data, forwardBackward, optimizer, allReduce, bytes) = (Values(MetricNames.TrainStepDuration), Values(MetricNames.TrainDataWait),
                Values(MetricNames.TrainForwardBackward), Values(MetricNames.TrainOptimizer), Values(MetricNames.AllReduceDuration), Values(MetricNames.AllReduceBytes));
            var busy = Values(MetricNames.AllReduceBusy);
            var count = new[] { step.Count, data.Count, forwardBackward.Count, optimizer.Count, allReduce.Count }.Min();
            return (IReadOnlyList<WorkerStep>)[.. Enumerable.Range(0, count).Select(i =>
                new WorkerStep(at[i], step[i], data[i], forwardBackward[i], allReduce[i], optimizer[i], i < bytes.Count ? (long)bytes[i] : 0)
                    { AllReduceBusy = i < busy.Count ? busy[i] : allReduce[i] })];
        })];
    }

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? experiment = null, worker = null;
        foreach (var tag in tags)
        {
            if (tag.Key == MetricNames.Labels.Experiment) experiment = tag.Value as string;
            else if (tag.Key == MetricNames.Labels.Worker) worker = tag.Value as string;
        }
        if (experiment is not null && worker is not null) _samples.Enqueue((experiment, worker, instrument.Name, value, _clock.Elapsed.TotalSeconds));
    }
}

/// <summary>One worker's step as its telemetry recorded it (seconds; <see cref="At"/> on the recorder's clock).</summary>
internal sealed record WorkerStep(double At, double Step, double DataWait, double ForwardBackward, double AllReduce, double Optimizer, long AllReduceBytes)
{
    /// <summary>Time the reducer worked on the step's sums, overlapped with backward or not (<see cref="AllReduce"/> is what the step waited).</summary>
    public double AllReduceBusy { get; init; }
}
