using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>A worker that answers the scheduler's liveness probe and accepts ranks and cancels, running nothing: the
/// tests send the ranks' reports themselves.</summary>
internal sealed class ScriptedWorkerGrain : Grain, IWorkerGrain
{
    public Task<WorkerInfo> DescribeAsync()
    {
        var id = this.GetPrimaryKeyString();
        return Task.FromResult(new WorkerInfo(id, WorkerIds.Parse(id).NodeId, "cpu", ""));
    }

    public Task RunAsync(TrainingAssignment assignment) => Task.CompletedTask;
    public Task CancelAsync(string experimentId) => Task.CompletedTask;
    public Task StartEvaluationAsync(EvaluationRequest request) => throw Unsupported();
    public Task<EvaluationProgress> GetEvaluationAsync(string evaluationId) => throw Unsupported();
    public Task CancelEvaluationAsync(string evaluationId) => throw Unsupported();

    private static NotSupportedException Unsupported() => new("The scripted worker answers only the probe, ranks and cancels.");
}
