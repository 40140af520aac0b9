using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Coordinates one training run: validates the spec, assigns ranks to workers, collects their step
/// reports and results. Its record (spec, workers, state, result) is persisted on every transition.
/// </summary>
public sealed class ExperimentGrain(
    [PersistentState("experiment", ClusterStorage.Experiments)] IPersistentState<ExperimentRecord> record,
    SegClusterMetrics metrics,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain
{
    private readonly Stopwatch _clock = new();
    private readonly HashSet<int> _completed = [];
    private int _step;
    private double _loss = double.NaN;
    private long _images;
    private TimeSpan _firstStepAt;

    private string Id => this.GetPrimaryKeyString();

    public async Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds)
    {
        if (record.State.State != ExperimentState.Pending || record.State.Spec is not null)
            throw new InvalidOperationException($"Experiment '{Id}' was already started (state {record.State.State}).");
        // A dataset on disk decides the class and sample counts: resolve them before anything depends on them.
        (spec, var errors) = DatasetSpecResolver.ValidateAndResolve(spec);
        if (workerIds.Count != spec.Workers)
            errors.Add($"workers: the spec asks for {spec.Workers} workers but {workerIds.Count} were given.");
        if (workerIds.Distinct().Count() != workerIds.Count)
            errors.Add("workers: the same worker was given twice; a worker runs one rank.");
        if (errors.Count > 0)
            throw new ArgumentException($"Experiment '{Id}' has an invalid spec:\n  - {string.Join("\n  - ", errors)}");

        var workers = workerIds.Select(id => GrainFactory.GetGrain<IWorkerGrain>(id)).ToList();
        var infos = await Task.WhenAll(workers.Select(w => w.DescribeAsync()));
        var ring = infos.Select(i => i.CollectiveEndpoint).ToList();
        var shard = new DatasetShardKey(spec.Dataset.Identity(spec.Seed), spec.Dataset.TrainCount, spec.Seed, Shard: 0).ToString();

        var attempt = record.State.Attempt + 1;
        record.State = new ExperimentRecord { Spec = spec, Workers = [.. workerIds], State = ExperimentState.Running, Attempt = attempt };
        await record.WriteStateAsync();
        metrics.RecordExperimentState(Id, record.State.State);
        _clock.Start();
        try
        {
            for (var rank = 0; rank < workers.Count; rank++)
                await workers[rank].RunAsync(new TrainingAssignment(Id, spec, rank, ring, shard, RingId: $"{Id}#{attempt}"));
        }
        catch (Exception e)
        {
            await FailAsync($"could not start the workers: {e.Message}");
            throw;
        }
        logger.LogInformation("Experiment {Experiment} started on {Workers}", Id, string.Join(", ", workerIds));
        return Status();
    }

    public Task<ExperimentStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task CancelAsync()
    {
        if (record.State.State.IsFinal()) return;
        record.State = record.State with { State = ExperimentState.Cancelled };
        await record.WriteStateAsync();
        metrics.RecordExperimentState(Id, record.State.State);
        await CancelWorkersAsync();
    }

    public Task ReportStepAsync(StepReport report)
    {
        if (_images == 0) _firstStepAt = _clock.Elapsed;
        _images += report.Images;
        // Rank 0 speaks for the group: every rank has the same global loss and step.
        if (report.Rank == 0) (_step, _loss) = (report.Step, report.Loss);
        return Task.CompletedTask;
    }

    public async Task ReportCompletedAsync(int rank, EvaluationReport? evaluation)
    {
        if (record.State.State.IsFinal()) return;
        _completed.Add(rank);
        if (evaluation is not null) record.State = record.State with { Evaluation = evaluation };
        if (_completed.Count == record.State.Workers.Count)
        {
            record.State = record.State with { State = ExperimentState.Completed };
            logger.LogInformation("Experiment {Experiment} completed: mIoU {MeanIoU:F4}", Id, record.State.Evaluation?.MeanIoU);
        }
        await record.WriteStateAsync();
        metrics.RecordExperimentState(Id, record.State.State);
    }

    public async Task ReportFailedAsync(int rank, string error)
    {
        if (record.State.State.IsFinal()) return;
        await FailAsync($"rank {rank}: {error}");
    }

    private async Task FailAsync(string error)
    {
        logger.LogError("Experiment {Experiment} failed: {Error}", Id, error);
        record.State = record.State with { State = ExperimentState.Failed, Error = error };
        await record.WriteStateAsync();
        metrics.RecordExperimentState(Id, record.State.State);
        await CancelWorkersAsync();
    }

    private Task CancelWorkersAsync() =>
        Task.WhenAll(record.State.Workers.Select(id => GrainFactory.GetGrain<IWorkerGrain>(id).CancelAsync(Id)));

    private ExperimentStatus Status()
    {
        var r = record.State;
        var trainingSeconds = (_clock.Elapsed - _firstStepAt).TotalSeconds;
        var imagesPerSecond = _images > 0 && trainingSeconds > 0 ? _images / trainingSeconds : 0;
        return new ExperimentStatus(Id, r.State, _step, r.Spec?.TotalSteps ?? 0, _loss, imagesPerSecond,
            r.Workers.Count, _clock.Elapsed.TotalSeconds, r.Evaluation, r.Error);
    }
}
