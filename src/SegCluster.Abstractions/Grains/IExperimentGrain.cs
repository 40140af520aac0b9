using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Grains;

/// <summary>Coordinator of one training run, keyed by experiment id.</summary>
[Alias("SegCluster.IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Validates the spec, assigns ranks to the given workers and starts them. Throws
    /// <see cref="ArgumentException"/> listing every spec error; nothing starts then.</summary>
    [Alias("Start")] Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds);
    [Alias("GetStatus")] Task<ExperimentStatus> GetStatusAsync();
    [Alias("Cancel")] Task CancelAsync();
    /// <summary>Rank 0's training loss of every step after <paramref name="afterStep"/> (kept in memory by this activation).</summary>
    [Alias("GetLosses")] Task<IReadOnlyList<CurvePoint>> GetLossesAsync(int afterStep);

    // Called by workers (from their training threads).
    [Alias("ReportStep")] Task ReportStepAsync(StepReport report);
    [Alias("ReportCompleted")] Task ReportCompletedAsync(int rank, EvaluationReport? evaluation);
    [Alias("ReportFailed")] Task ReportFailedAsync(int rank, string error);
}
