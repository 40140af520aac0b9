using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

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

    // Called by workers (from their training threads).
    [Alias("ReportStep")] Task ReportStepAsync(StepReport report);
    [Alias("ReportCompleted")] Task ReportCompletedAsync(int rank, EvaluationReport? evaluation);
    [Alias("ReportFailed")] Task ReportFailedAsync(int rank, string error);
}
