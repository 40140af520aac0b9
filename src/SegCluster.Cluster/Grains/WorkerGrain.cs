using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// One device of this node. The training loop runs on a dedicated thread (TaskCreationOptions.LongRunning
/// on the default scheduler), never on the Orleans scheduler; the grain only starts, tracks and cancels it.
/// </summary>
public sealed class WorkerGrain(
    IOptions<NodeOptions> node,
    WorkerTrainingLoopFactory loops,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    private static readonly TimeSpan CancelledLoopGrace = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan FinishingLoopGrace = TimeSpan.FromSeconds(2);

    private WorkerInfo _info = null!;
    private Task? _running;
    private string? _experimentId;
    private CancellationTokenSource? _cancel;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (nodeId, index) = WorkerIds.Parse(this.GetPrimaryKeyString());
        var options = node.Value;
        if (nodeId != options.NodeId || index >= options.Devices.Count)
            throw new InvalidOperationException(
                $"Worker '{this.GetPrimaryKeyString()}' is not a device of node '{options.NodeId}' (devices: {string.Join(", ", options.Devices)}).");
        _info = new WorkerInfo(this.GetPrimaryKeyString(), nodeId, options.Devices[index], options.CollectiveEndpoint);
        return Task.CompletedTask;
    }

    public Task<WorkerInfo> DescribeAsync() => Task.FromResult(_info);

    public async Task RunAsync(TrainingAssignment assignment)
    {
        if (_running is { IsCompleted: false })
        {
            // A cancelled loop stops at its next step boundary, and a finished one returns right after its last report:
            // a sweep hands the worker on at those moments, so wait for the loop (within the 30 s call timeout) instead of refusing.
            var grace = _cancel!.IsCancellationRequested ? CancelledLoopGrace : FinishingLoopGrace;
            try { await _running.WaitAsync(grace); }
            catch (TimeoutException) { throw new InvalidOperationException($"Worker '{_info.WorkerId}' is busy with experiment '{_experimentId}'."); }
        }
        _experimentId = assignment.ExperimentId;
        _cancel = new CancellationTokenSource();
        var loop = loops.Create(assignment, _info);
        var token = _cancel.Token;
        // Keep this activation (and so the cancel handle) alive while the loop runs without grain calls.
        DelayDeactivation(TimeSpan.FromDays(7));
        _running = Task.Factory.StartNew(() => loop.Run(token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        logger.LogInformation("Worker {Worker} ({Device}) started rank {Rank}/{World} of {Experiment}",
            _info.WorkerId, _info.Device, assignment.Rank, assignment.WorldSize, assignment.ExperimentId);
    }

    public Task CancelAsync(string experimentId)
    {
        if (experimentId == _experimentId) _cancel?.Cancel();
        return Task.CompletedTask;
    }
}
