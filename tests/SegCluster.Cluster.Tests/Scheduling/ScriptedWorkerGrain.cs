using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>A worker that only answers the scheduler's liveness probe; it runs nothing.</summary>
internal sealed class ScriptedWorkerGrain : Grain, IWorkerGrain
{
    public Task<WorkerInfo> DescribeAsync()
    {
        var id = this.GetPrimaryKeyString();
        return Task.FromResult(new WorkerInfo(id, WorkerIds.Parse(id).NodeId, "cpu", ""));
    }

    public Task RunAsync(TrainingAssignment assignment) => throw Unsupported();
    public Task CancelAsync(string experimentId) => throw Unsupported();
    public Task StartEvaluationAsync(EvaluationRequest request) => throw Unsupported();
    public Task<EvaluationProgress> GetEvaluationAsync(string evaluationId) => throw Unsupported();
    public Task CancelEvaluationAsync(string evaluationId) => throw Unsupported();

    private static NotSupportedException Unsupported() => new("The scripted worker answers only the scheduler's probe (DescribeAsync).");
}
