using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>A worker that answers the scheduler's liveness probe and accepts ranks and cancels, running nothing: the
/// tests send the ranks' reports themselves. <see cref="WorkerProbes"/> says when the probe and a rank's start answer;
/// a test cluster that registers none (any that takes the real workers out) gets answers at once.</summary>
internal sealed class ScriptedWorkerGrain(WorkerProbes? probes = null) : Grain, IWorkerGrain
{
    private readonly WorkerProbes _probes = probes ?? new WorkerProbes();

    public async Task<WorkerInfo> DescribeAsync()
    {
        await _probes.ProbeAsync();
        var id = this.GetPrimaryKeyString();
        return new WorkerInfo(id, WorkerIds.Parse(id).NodeId, "cpu", "");
    }

    public Task RunAsync(TrainingAssignment assignment) => _probes.RunAsync();
    public Task CancelAsync(string experimentId) => Task.CompletedTask;
    public Task<WorkerRun> GetRunAsync() => Task.FromResult(WorkerRun.None);
    public Task StartEvaluationAsync(EvaluationRequest request) => throw Unsupported();
    public Task<EvaluationProgress> GetEvaluationAsync(string evaluationId) => throw Unsupported();
    public Task CancelEvaluationAsync(string evaluationId) => throw Unsupported();

    private static NotSupportedException Unsupported() => new("The scripted worker answers only the probe, ranks and cancels.");
}
