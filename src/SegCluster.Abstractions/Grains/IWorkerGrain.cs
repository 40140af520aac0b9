using Orleans.Concurrency;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// One device of one node, keyed "{nodeId}/{deviceIndex}". Runs one training assignment at a time on a
/// dedicated thread (never on the grain scheduler) and reports to its experiment.
/// </summary>
[Alias("SegCluster.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>The worker's device and node; the scheduler's liveness probe. Interleaves with the other calls (it reads
    /// only what activation set), so it answers while a rank's start waits for a cancelled loop to leave the device.</summary>
    [Alias("Describe"), AlwaysInterleave] Task<WorkerInfo> DescribeAsync();
    /// <summary>Starts the assignment and returns at once; throws if the worker is busy.</summary>
    [Alias("Run")] Task RunAsync(TrainingAssignment assignment);
    /// <summary>Cooperative: the loop stops at its next step boundary.</summary>
    [Alias("Cancel")] Task CancelAsync(string experimentId);
    /// <summary>The rank this worker was last given, whether its loop runs, and how it failed if it did: the coordinator's
    /// watchdog asks, to notice a rank that stopped without reporting (or whose report was lost). Interleaves (it only
    /// reads), so it answers while a start or cancel waits.</summary>
    [Alias("GetRun"), AlwaysInterleave] Task<WorkerRun> GetRunAsync();
    /// <summary>Starts evaluating a checkpoint on part of a dataset on a dedicated thread and returns at once (a part may
    /// take longer than a grain call may); follow it with <see cref="GetEvaluationAsync"/>. Throws if an evaluation runs.</summary>
    [Alias("StartEvaluation")] Task StartEvaluationAsync(EvaluationRequest request);
    /// <summary>Progress, then the confusion counts (or the error) of the evaluation started with that id.</summary>
    [Alias("GetEvaluation")] Task<EvaluationProgress> GetEvaluationAsync(string evaluationId);
    /// <summary>Cooperative: the evaluation stops before its next image and reports the error "cancelled".
    /// Does nothing when no evaluation of that id runs.</summary>
    [Alias("CancelEvaluation")] Task CancelEvaluationAsync(string evaluationId);
}

public static class WorkerIds
{
    public static string For(string nodeId, int deviceIndex) => $"{nodeId}/{deviceIndex}";

    public static (string NodeId, int DeviceIndex) Parse(string workerId)
    {
        var slash = workerId.LastIndexOf('/');
        if (slash <= 0 || !int.TryParse(workerId.AsSpan(slash + 1), out var index) || index < 0)
            throw new ArgumentException($"Worker id '{workerId}' is not of the form '{{node}}/{{deviceIndex}}'.", nameof(workerId));
        return (workerId[..slash], index);
    }
}
