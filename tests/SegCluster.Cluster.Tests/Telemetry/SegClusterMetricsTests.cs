using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Cluster.Tests.Telemetry;

/// <summary>The gauges added for the dashboard report what was recorded, with the documented labels.</summary>
public sealed class SegClusterMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<SegClusterMetrics>().BuildServiceProvider();
    private readonly WorkerLabels _worker = new("exp-a", "local/0", "local", "cpu");

    [Fact]
    public void Step_sets_learning_rate_and_all_reduce_bandwidth_until_the_worker_is_forgotten()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        // 2 images; 0.5 s of all-reduce for 1,000,000 bytes = 2,000,000 B/s.
        metrics.RecordStep(_worker, new StepReport(0, 1, 1.5, 2, 0.1, 0.2, 0.5, 0.2, 1_000_000), learningRate: 0.05);

        var observed = Observe();
        Assert.Equal(0.05, Assert.Single(observed[MetricNames.TrainLearningRate]).Value);
        var bandwidth = Assert.Single(observed[MetricNames.AllReduceBandwidth]);
        Assert.Equal(2_000_000, bandwidth.Value, 6);
        Assert.Equal("local/0", bandwidth.Tags[MetricNames.Labels.Worker]);

        metrics.Forget(_worker);
        Assert.False(Observe().ContainsKey(MetricNames.TrainLearningRate));
    }

    [Fact]
    public void The_loss_scale_gauge_reports_the_latest_step_until_the_worker_is_forgotten()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        metrics.RecordLossScale(_worker, 65536, skipped: false);
        metrics.RecordLossScale(_worker, 32768, skipped: true);
        var scale = Assert.Single(Observe()[MetricNames.TrainLossScale]);
        Assert.Equal(32768, scale.Value);
        Assert.Equal("exp-a", scale.Tags[MetricNames.Labels.Experiment]);
        metrics.Forget(_worker);
        Assert.False(Observe().ContainsKey(MetricNames.TrainLossScale));
    }

    [Fact]
    public void Evaluation_and_experiment_states_are_reported()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        metrics.RecordEvaluation(_worker, 0.42);
        metrics.RecordExperimentState("exp-a", ExperimentState.Running);
        metrics.RecordExperimentState("exp-b", ExperimentState.Running);
        metrics.RecordExperimentState("exp-a", ExperimentState.Completed);

        var observed = Observe();
        var miou = Assert.Single(observed[MetricNames.EvalMeanIoU]);
        Assert.Equal(0.42, miou.Value);
        Assert.Equal("exp-a", miou.Tags[MetricNames.Labels.Experiment]);
        var states = observed[MetricNames.Experiments].ToDictionary(m => (string)m.Tags[MetricNames.Labels.State]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["running"] = 1, ["completed"] = 1, ["failed"] = 0, ["cancelled"] = 0 }, states);
    }

    [Fact]
    public void Scheduler_load_and_sweep_trial_states_are_reported_with_every_state()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        Assert.False(Observe().ContainsKey(MetricNames.SchedulerQueue));  // only the scheduler's node reports it

        metrics.RecordScheduler(queued: 2, freeWorkers: 1, allocatedWorkers: 3);
        metrics.RecordSweepTrials("sweep-a", [TrialState.Completed, TrialState.Running, TrialState.Completed, TrialState.Skipped]);
        metrics.RecordSweepTrials("sweep-a", [TrialState.Completed, TrialState.Completed, TrialState.Completed, TrialState.Skipped]);

        var observed = Observe();
        Assert.Equal(2, Assert.Single(observed[MetricNames.SchedulerQueue]).Value);
        var workers = observed[MetricNames.SchedulerWorkers].ToDictionary(m => (string)m.Tags[MetricNames.Labels.State]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["free"] = 1, ["allocated"] = 3 }, workers);
        var trials = observed[MetricNames.SweepTrials].ToDictionary(m => (string)m.Tags[MetricNames.Labels.State]!, m => m.Value);
        Assert.Equal(Enum.GetValues<TrialState>().Length, trials.Count);
        Assert.Equal((3, 0, 1, 0), (trials["completed"], trials["running"], trials["skipped"], trials["pending"]));
        Assert.All(observed[MetricNames.SweepTrials], m => Assert.Equal("sweep-a", m.Tags[MetricNames.Labels.Sweep]));
    }

    /// <summary>A sweep coordinator that leaves the node takes its unfinished trial counts with it (the node it moves to
    /// counts them); a finished sweep's counts stay, as the finished series kept.</summary>
    [Fact]
    public void A_sweep_forgotten_by_its_coordinator_leaves_the_gauge_unless_it_finished()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        metrics.RecordSweepTrials("sweep-moved", [TrialState.Completed, TrialState.Running]);
        metrics.RecordSweepTrials("sweep-done", [TrialState.Completed, TrialState.Failed]);

        metrics.ForgetSweep("sweep-moved");
        metrics.ForgetSweep("sweep-done");

        var sweeps = Observe()[MetricNames.SweepTrials].Select(m => (string)m.Tags[MetricNames.Labels.Sweep]!).ToHashSet();
        Assert.Equal(["sweep-done"], sweeps);
    }

    /// <summary>Rank 0's node may not host the coordinator, so nothing but the loop's end finishes an experiment there: a
    /// cancelled or failed loop's mIoU leaves once enough later ones finished (each stopped sweep trial left a series), and a
    /// ring that re-forms with rank 0 back here is running again from its next validation on.</summary>
    [Fact]
    public void A_loop_that_ended_any_way_finishes_its_experiment_here_until_it_validates_again()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        var (stopped, retried) = (_worker with { Experiment = "stopped" }, _worker with { Experiment = "retried" });
        metrics.RecordEvaluation(stopped, 0.2);
        metrics.Forget(stopped);  // an ASHA-stopped trial whose coordinator is elsewhere
        metrics.RecordEvaluation(retried, 0.3);
        metrics.Forget(retried);  // a ring that broke ...
        metrics.RecordEvaluation(retried, 0.35);  // ... and re-formed with rank 0 here
        for (var i = 0; i < SegClusterMetrics.FinishedSeriesKept; i++)
            metrics.Forget(_worker with { Experiment = $"done-{i}" });

        var experiments = Observe()[MetricNames.EvalMeanIoU].Select(m => (string)m.Tags[MetricNames.Labels.Experiment]!).ToList();
        Assert.DoesNotContain("stopped", experiments);
        Assert.Contains("retried", experiments);
    }

    [Fact]
    public void Finished_experiments_and_sweeps_leave_the_gauges_once_enough_later_ones_have_finished()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        var kept = SegClusterMetrics.FinishedSeriesKept;
        for (var i = 0; i <= kept; i++)
        {
            var worker = _worker with { Experiment = $"trial-{i}" };
            metrics.RecordExperimentState(worker.Experiment, ExperimentState.Running);
            metrics.RecordEvaluation(worker, 0.5);
            metrics.RecordSweepTrials($"sweep-{i}", [TrialState.Running]);
            metrics.RecordSweepTrials($"sweep-{i}", [TrialState.Completed]);
            metrics.Forget(worker);
            metrics.RecordExperimentState(worker.Experiment, ExperimentState.Completed);
        }
        metrics.RecordEvaluation(_worker with { Experiment = "running" }, 0.25);
        metrics.RecordSweepTrials("sweep-running", [TrialState.Completed, TrialState.Pending]);

        var observed = Observe();
        // The oldest finished experiment and sweep are gone; the newest `kept` and the unfinished ones stay.
        var experiments = observed[MetricNames.EvalMeanIoU].Select(m => (string)m.Tags[MetricNames.Labels.Experiment]!);
        Assert.Equal(Enumerable.Range(1, kept).Select(i => $"trial-{i}").Append("running").Order(StringComparer.Ordinal), experiments.Order(StringComparer.Ordinal));
        var sweeps = observed[MetricNames.SweepTrials].Select(m => (string)m.Tags[MetricNames.Labels.Sweep]!).ToHashSet();
        Assert.Equal(kept + 1, sweeps.Count);
        Assert.DoesNotContain("sweep-0", sweeps);
        Assert.Contains("sweep-running", sweeps);
        // The state counts still include every experiment that finished here.
        var states = observed[MetricNames.Experiments].ToDictionary(m => (string)m.Tags[MetricNames.Labels.State]!, m => m.Value);
        Assert.Equal((kept + 1.0, 0.0), (states["completed"], states["running"]));
    }

    /// <summary>Counters, so rate() and increase() survive a node restart where the state gauge drops back: finished
    /// experiments by final state, ring re-formations and the steps they train again.</summary>
    [Fact]
    public void Finished_experiments_re_formations_and_redone_steps_are_counted()
    {
        var metrics = _services.GetRequiredService<SegClusterMetrics>();
        var observed = Observe(() =>
        {
            metrics.RecordExperimentState("exp-a", ExperimentState.Running);
            metrics.RecordRecovery(stepsRedone: 3);
            metrics.RecordRecovery(stepsRedone: 0);
            metrics.RecordExperimentState("exp-a", ExperimentState.Failed);
            metrics.RecordExperimentState("exp-b", ExperimentState.Completed);
        });

        var finished = observed[MetricNames.ExperimentsFinished].GroupBy(m => (string)m.Tags[MetricNames.Labels.State]!).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(new Dictionary<string, double> { ["failed"] = 1, ["completed"] = 1 }, finished);
        Assert.Equal(2, observed[MetricNames.ExperimentRecoveries].Sum(m => m.Value));
        Assert.Equal(3, observed[MetricNames.ExperimentStepsRedone].Sum(m => m.Value));
    }

    /// <summary>One collection of every observable instrument of this provider's SegCluster meter, after the measurements
    /// <paramref name="recording"/> makes (counters and histograms are seen only while the listener runs).</summary>
    private Dictionary<string, List<(double Value, Dictionary<string, object?> Tags)>> Observe(Action? recording = null)
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        var seen = new Dictionary<string, List<(double, Dictionary<string, object?>)>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MetricNames.Meter && instrument.Meter.Scope == factory) l.EnableMeasurementEvents(instrument);
        };
        void Add(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (!seen.TryGetValue(i.Name, out var list)) seen[i.Name] = list = [];
            var map = new Dictionary<string, object?>();
            foreach (var t in tags) map[t.Key] = t.Value;
            list.Add((v, map));
        }
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();
        recording?.Invoke();
        listener.RecordObservableInstruments();
        return seen;
    }

    public void Dispose() => _services.Dispose();
}
