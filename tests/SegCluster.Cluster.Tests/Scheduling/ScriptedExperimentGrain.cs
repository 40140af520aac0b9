using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// An experiment coordinator that launches nothing: its start does what <see cref="ExperimentStarts"/> says, so
/// scheduler tests control when (and whether) a start answers and launches. Only the calls the scheduler makes are supported.
/// </summary>
internal sealed class ScriptedExperimentGrain(ExperimentStarts starts) : Grain, IExperimentGrain
{
    private string Id => this.GetPrimaryKeyString();

    public async Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds, bool scheduled = false)
    {
        await starts.StartAsync(Id, workerIds);
        return new ExperimentStatus(Id, ExperimentState.Running, 0, spec.TotalSteps, double.NaN, 0, workerIds.Count, 0, null, null)
        {
            WorkerIds = workerIds,
        };
    }

    public Task ResumeAsync(IReadOnlyList<string> workerIds) => starts.StartAsync(Id, workerIds);

    public Task WorkersLostAsync(IReadOnlyList<string> workerIds)
    {
        starts.LostNotices.Enqueue((Id, workerIds));
        return Task.CompletedTask;
    }

    /// <summary>Only the state and ring are scripted: Running once a start launched, Pending before (starting while a start
    /// is in its preflight), Completed once ended; the ring of <see cref="ExperimentStarts.Ring"/>; as of when a gated status asks.</summary>
    public async Task<ExperimentStatus> GetStatusAsync()
    {
        var ring = starts.Ring(Id);
        await starts.StatusAsync(Id);
        var state = starts.Ended(Id) ? ExperimentState.Completed : starts.Launched(Id) ? ExperimentState.Running : ExperimentState.Pending;
        return new ExperimentStatus(Id, state, 0, 0, double.NaN, 0, ring.Count, 0, null, null) { Starting = starts.Starting(Id), WorkerIds = ring };
    }
    public Task CancelAsync() => throw Unsupported();
    public Task<IReadOnlyList<CurvePoint>> GetLossesAsync(int afterStep) => throw Unsupported();
    public Task ReportStepAsync(StepReport report) => throw Unsupported();
    public Task<bool> ReportCheckpointAsync(int attempt, CheckpointRecord checkpoint) => throw Unsupported();
    public Task ReportValidationAsync(int attempt, ValidationPoint validation, CheckpointRecord? best) => throw Unsupported();
    public Task ReportCompletedAsync(int rank, int attempt, EvaluationReport? evaluation) => throw Unsupported();
    public Task ReportFailedAsync(int rank, int attempt, string error, bool retryable) => throw Unsupported();
    public Task RankStoppedAsync(int rank, int attempt, string reason) => throw Unsupported();

    private static NotSupportedException Unsupported() =>
        new("The scripted experiment answers only the scheduler's calls (start, resume, workers lost, status).");
}
