using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Evaluation;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Placement;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Devices;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// One device of this node. The training loop runs on a dedicated thread (TaskCreationOptions.LongRunning
/// on the default scheduler), never on the Orleans scheduler; the grain only starts, tracks and cancels it.
/// Activated only on the node that owns the device (<see cref="DevicePlacement"/>).
/// </summary>
[DevicePlacement]
public sealed class WorkerGrain(
    IOptions<NodeOptions> node,
    WorkerTrainingLoopFactory loops,
    SpecPathPolicy paths,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    private static readonly TimeSpan CancelledLoopGrace = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan FinishingLoopGrace = TimeSpan.FromSeconds(2);
    /// <summary>Bounds sending the one-way stop notice from a deactivating activation (it is sent, never answered).</summary>
    private static readonly TimeSpan StopNoticeTimeout = TimeSpan.FromSeconds(2);

    private WorkerInfo _info = null!;
    private Task<RankFailure?>? _running;
    /// <summary>The last assignment's rank: what a deactivation under its loop tells the experiment, and what the watchdog reads.</summary>
    private TrainingAssignment? _assignment;
    private CancellationTokenSource? _cancel;
    private (string Id, CheckpointEvaluation Part, Task<long[]> Running, CancellationTokenSource Cancel)? _evaluation;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var options = node.Value;
        _info = options.Workers().FirstOrDefault(w => w.WorkerId == this.GetPrimaryKeyString())
            ?? throw new InvalidOperationException(
                $"Worker '{this.GetPrimaryKeyString()}' is not a device of node '{options.NodeId}' (devices: {string.Join(", ", options.Devices)}).");
        return Task.CompletedTask;
    }

    public Task<WorkerInfo> DescribeAsync() => Task.FromResult(_info);

    public async Task RunAsync(TrainingAssignment assignment)
    {
        var previous = _running ?? Task.CompletedTask;
        if (!previous.IsCompleted && _assignment?.ExperimentId != assignment.ExperimentId && !_cancel!.IsCancellationRequested)
        {
            // Another experiment's loop that nobody stopped: a finished one returns right after its last report (a sweep hands
            // the worker on at that moment), so wait briefly; one still training is another run's, and this one is refused.
            try { await previous.WaitAsync(FinishingLoopGrace); }
            catch (TimeoutException) { throw new InvalidOperationException($"Worker '{_info.WorkerId}' is busy with experiment '{_assignment?.ExperimentId}'."); }
        }
        // A cancelled loop (another experiment's that a sweep stopped) or an earlier attempt's of this one (told to stop now)
        // is followed: the new loop starts after it ends, so two loops never share this device. Not awaited here: the old
        // loop may be blocked reporting to the coordinator that is calling us (waiting would deadlock both), or inside a
        // step that cannot be interrupted (a checkpoint written to a slow share), past any grace a refusal would allow.
        _cancel?.Cancel();
        _assignment = assignment;
        _cancel = new CancellationTokenSource();
        var loop = loops.Create(assignment, _info);
        var token = _cancel.Token;
        _running = previous.ContinueWith(_ => loop.Run(token), CancellationToken.None, TaskContinuationOptions.LongRunning, TaskScheduler.Default);
        KeepAliveUntilDone(_running);
        logger.LogInformation("Worker {Worker} ({Device}) started rank {Rank}/{World} of {Experiment} (attempt {Attempt})",
            _info.WorkerId, _info.Device, assignment.Rank, assignment.WorldSize, assignment.ExperimentId, assignment.Attempt);
    }

    public Task<WorkerRun> GetRunAsync() => Task.FromResult(_assignment is { } a
        ? new WorkerRun(a.ExperimentId, a.Attempt, a.Rank, Running: LoopRunsUnstopped) { Failure = LoopFailure }
        : WorkerRun.None);

    public Task StartEvaluationAsync(EvaluationRequest request)
    {
        if (_evaluation is { Running.IsCompleted: false } running)
            throw new InvalidOperationException($"Worker '{_info.WorkerId}' is busy with evaluation '{running.Id}'.");
        // `segcluster eval --checkpoint C --dataset D` names files for this node to read: its path roots decide first.
        var refused = new[]
        {
            paths.Refusal("--checkpoint", request.CheckpointPath),
            EvaluationDatasets.IsSynthetic(request.DatasetPath) ? null : paths.Refusal("--dataset", request.DatasetPath),
        }.OfType<string>().ToList();
        if (refused.Count > 0) throw new ArgumentException(string.Join(" ", refused));
        var part = new CheckpointEvaluation(request, DeviceParser.Parse(_info.Device));
        _evaluation?.Cancel.Dispose();
        var cancel = new CancellationTokenSource();
        var token = cancel.Token;
        // A dedicated thread, as training loops run: inference at full resolution is long compute.
        var task = Task.Factory.StartNew(() => part.Run(token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _evaluation = (request.EvaluationId, part, task, cancel);
        KeepAliveUntilDone(task);
        logger.LogInformation("Worker {Worker} evaluates {Count} images of {Dataset} ({Evaluation})", _info.WorkerId, request.Indices.Count, request.DatasetPath, request.EvaluationId);
        return Task.CompletedTask;
    }

    public Task<EvaluationProgress> GetEvaluationAsync(string evaluationId)
    {
        if (_evaluation is not { } e || e.Id != evaluationId)
            return Task.FromResult(new EvaluationProgress(evaluationId, 0, 0, null, $"worker '{_info.WorkerId}' has no evaluation '{evaluationId}' (was its node restarted?)."));
        var task = e.Running;
        var progress = task.Status switch
        {
            TaskStatus.RanToCompletion => new EvaluationProgress(e.Id, e.Part.Done, e.Part.Total, task.Result, null),
            TaskStatus.Faulted => new EvaluationProgress(e.Id, e.Part.Done, e.Part.Total, null, task.Exception!.GetBaseException().Message),
            TaskStatus.Canceled => new EvaluationProgress(e.Id, e.Part.Done, e.Part.Total, null, "cancelled"),
            _ => new EvaluationProgress(e.Id, e.Part.Done, e.Part.Total, null, null),
        };
        return Task.FromResult(progress);
    }

    public Task CancelEvaluationAsync(string evaluationId)
    {
        if (_evaluation is { } e && e.Id == evaluationId) e.Cancel.Cancel();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Keeps this activation, and so the cancel handle and progress of its work, while a loop or evaluation runs on its own
    /// thread without grain calls; once neither runs, the worker is collected as any idle grain. An activation collected
    /// under a running loop would let a second loop start on the same device.
    /// </summary>
    private void KeepAliveUntilDone(Task work)
    {
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        _ = ReleaseAfterAsync(work);

        async Task ReleaseAfterAsync(Task work)  // resumes on this activation's scheduler
        {
            await work.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
            if (!Busy) DelayDeactivation(TimeSpan.Zero);  // zero: back to the regular collection age
        }
    }

    private bool Busy => _running is { IsCompleted: false } || _evaluation is { Running.IsCompleted: false };

    /// <summary>The last assignment's loop runs and nobody asked it to stop (cancel, or a newer assignment).</summary>
    private bool LoopRunsUnstopped => _running is { IsCompleted: false } && _cancel is { IsCancellationRequested: false };

    /// <summary>How the last assignment's loop failed, once it ended: what its report said, kept for a watchdog that never
    /// got that report (lost, or sent to a coordinator activation that died).</summary>
    private RankFailure? LoopFailure => _running is { IsCompletedSuccessfully: true } ended ? ended.Result : null;

    /// <summary>A node shutting down deactivates its grains, and so does Orleans when the silo holding an activation's
    /// directory entry dies: the work is told to stop rather than left running unowned, and a rank its experiment did not
    /// stop is reported as stopped (a cancelled loop reports nothing, and the node may still be in the cluster).</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!Busy) return;
        logger.LogWarning("Worker {Worker} is deactivated ({Reason}) while busy: its training loop and evaluation are cancelled", _info.WorkerId, reason);
        if (LoopRunsUnstopped && _assignment is { } stopped)
            await TellRankStoppedAsync(stopped, reason);
        _cancel?.Cancel();
        _evaluation?.Cancel.Cancel();
        var work = Task.WhenAll(_running ?? Task.CompletedTask, _evaluation?.Running ?? Task.CompletedTask);
        // Their own failures are reported by the loop and the evaluation; here they only bound the wait.
        await work.WaitAsync(CancelledLoopGrace, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Best effort: one-way, so it never waits for the experiment, whose recovery calls this worker id back (those
    /// calls queue behind this deactivation: awaiting an answer would deadlock both). Bounded, in case sending blocks.</summary>
    private async Task TellRankStoppedAsync(TrainingAssignment stopped, DeactivationReason reason)
    {
        try
        {
            await GrainFactory.GetGrain<IExperimentGrain>(stopped.ExperimentId)
                .RankStoppedAsync(stopped.Rank, stopped.Attempt, $"worker {_info.WorkerId} was deactivated under its loop ({reason})")
                .WaitAsync(StopNoticeTimeout);
        }
        catch (Exception e)
        {
            logger.LogWarning("Worker {Worker} could not tell {Experiment} that rank {Rank} stopped: {Error}", _info.WorkerId, stopped.ExperimentId, stopped.Rank, e.Message);
        }
    }

    public Task CancelAsync(string experimentId)
    {
        if (experimentId == _assignment?.ExperimentId) _cancel?.Cancel();
        return Task.CompletedTask;
    }
}
