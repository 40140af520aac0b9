using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Training;
using TorchSharp;

namespace SegCluster.Cluster.Training;

/// <summary>
/// One rank's training run, top to bottom: join the ring, build the model (rank 0's weights broadcast, or
/// training.load_from's loaded on every rank),
/// then per step fetch the batch, step (forward, backward, all-reduce, optimizer), report. Rank 0 evaluates
/// at the end. Runs on a dedicated thread; grain calls are made from here and awaited synchronously.
/// With training.checkpoint_every, rank 0 writes a checkpoint every N steps (and after the last) and reports
/// it; a re-formed ring loads it on every rank and skips the steps already taken, so the data order and the
/// optimizer state are those of an uninterrupted run. Its files are written while training goes on
/// (<see cref="CheckpointWriter"/>, training.async_checkpoint), and the run completes once the last is recorded.
/// </summary>
public sealed class WorkerTrainingLoop(
    TrainingAssignment assignment,
    WorkerInfo worker,
    IGrainFactory grains,
    CollectiveMailbox mailbox,
    CollectiveOptions collectiveOptions,
    NodeReducerGroups nodeGroups,
    SegClusterMetrics metrics,
    TrainingDataSources dataSources,
    DeviceOccupancy devices,
    string checkpointDirectory,
    SpecPathPolicy paths,
    ILogger<WorkerTrainingLoop> logger,
    ILogger failures)
{
    /// <summary>The log category of a rank's explained failure (<see cref="Run"/>): a host that reports the run's
    /// failure itself, as the embedded CLI does, filters it without losing the loop's other warnings.</summary>
    public const string FailureCategory = "SegCluster.Cluster.Training.RankFailures";

    /// <summary>How long a failure report keeps trying while the coordinator moves off a lost node.</summary>
    private static readonly TimeSpan ReportFailureFor = TimeSpan.FromSeconds(90);

    /// <summary>What the trainer sums through, given the ring's reducer: the ring's reducer itself (a test wraps it to inject
    /// a collective failure).</summary>
    public Func<IGradientReducer, IGradientReducer> TrainerReducer { get; init; } = reducer => reducer;

    /// <summary>How long a rank whose collective failed waits for its own cancel before it reports the failure
    /// (<see cref="CancelledOrCancelling"/>).</summary>
    public TimeSpan CancelArrival
    {
        get;
        init => field = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(CancelArrival), value, "must not be negative");
    } = TimeSpan.FromSeconds(2);

    /// <summary>How rank 0 writes a checkpoint file, given its path and the write: the write (a test holds it on a gate,
    /// or fails it, as slow or broken storage would).</summary>
    public Action<string, Action> CheckpointFileWrite { get; init; } = (_, write) => write();

    /// <returns>The failure this rank reported (or tried to: the report may be lost), for its worker to keep; null when it
    /// completed or was cancelled.</returns>
    public RankFailure? Run(CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(assignment.ExperimentId);
        var labels = new WorkerLabels(assignment.ExperimentId, worker.WorkerId, worker.NodeId, worker.Device);
        IDisposable? occupancy = null;
        try
        {
            // A previous activation's cancelled loop may still hold the device: its collectives stop by the collective timeout
            // at worst, but a cancelled rank 0 then finishes its checkpoint write in flight, which slow storage can make longer.
            var wait = collectiveOptions.Timeout + TimeSpan.FromSeconds(30);
            occupancy = devices.Occupy(worker.WorkerId, wait, cancellationToken);
            if (occupancy is null)
                logger.LogWarning("Rank {Rank} of {Experiment}: an earlier loop still runs on {Worker} after {Wait} (finishing a checkpoint write?); starting beside it",
                    assignment.Rank, assignment.ExperimentId, worker.WorkerId, wait);
            var evaluation = Train(experiment, labels, cancellationToken);
            experiment.ReportCompletedAsync(assignment.Rank, assignment.Attempt, evaluation).GetAwaiter().GetResult();
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Rank {Rank} of {Experiment} cancelled", assignment.Rank, assignment.ExperimentId);
            return null;
        }
        catch (Exception e)
        {
            // Failed while cancelled: ranks are cancelled in parallel, and a cancelled rank closes its connections, so a peer
            // whose own cancel is arriving fails in its collective (end of stream, its predecessor's abort) rather than with
            // OperationCanceledException. Not a failure to report (it would be logged as an error on up to W − 1 ranks of
            // every cancel, early stop and re-formation). One whose cancel does not come within CancelArrival still reports:
            // the coordinator ignores reports of a cancelled run or of an attempt it already replaced. Judged here, after
            // unwinding, not in a filter: the wait must not hold the run's model, data and device memory.
            if (CancelledOrCancelling(e, cancellationToken))
            {
                logger.LogInformation("Rank {Rank} of {Experiment} cancelled ({Error})", assignment.Rank, assignment.ExperimentId, e.Message);
                return null;
            }

            // A run that diverged, a dataset that is unusable or a setting the model cannot train with: the message says what
            // to change, so it is logged alone (a stack would only bury it), as a warning: the experiment logs the failure
            // as its error, once, and every rank usually has the same reason. It fails again on a re-formed ring, so it is not
            // worth a retry. Anything else may be a bug: an error with its stack.
            var explained = e is ExplainedRunException;
            if (explained) failures.LogWarning("Rank {Rank} of {Experiment} failed: {Error}", assignment.Rank, assignment.ExperimentId, e.Message);
            else logger.LogError(e, "Rank {Rank} of {Experiment} failed", assignment.Rank, assignment.ExperimentId);
            var failure = new RankFailure(e.Message, Retryable: !explained);
            ReportFailure(experiment, failure, cancellationToken);
            return failure;
        }
        finally
        {
            occupancy?.Dispose();
            metrics.Forget(labels);
        }
    }

    /// <summary>Whether <paramref name="e"/> ends a cancelled run: the run is cancelled, or its collective failed (a peer
    /// closed the ring or aborted) and this rank's own cancel arrives within <see cref="CancelArrival"/>. The peer's
    /// close is often the first sign of a cancel: the coordinator cancels the ranks in parallel, each from its own call,
    /// and a peer cancelled first closes its connections before this rank's cancel lands. A real failure is reported
    /// CancelArrival later, well within the membership's failure detection.</summary>
    private bool CancelledOrCancelling(Exception e, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
        || IsCollectiveFailure(e) && cancellationToken.WaitHandle.WaitOne(CancelArrival);

    private static bool IsCollectiveFailure(Exception? e) => e switch
    {
        null => false,
        CollectiveException or RingAbortedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsCollectiveFailure),
        _ => IsCollectiveFailure(e.InnerException),
    };

    private EvaluationReport? Train(IExperimentGrain experiment, WorkerLabels labels, CancellationToken cancellationToken)
    {
        var spec = assignment.Spec;
        // This node's path roots, before any file the assignment names is opened: the coordinator's node checked its own,
        // and an assignment can come from any caller of the grains. The same refusal on every attempt: not retried.
        if (paths.Refusals(assignment) is { Count: > 0 } refused) throw new RunSettingException(string.Join(" ", refused));
        var device = DeviceParser.Parse(worker.Device);
        // Declared first, so disposed last: a cancelled or failed run closes its ring (its peers stop at once, not after
        // Collectives:Timeout) and frees its model, then waits here for the checkpoint write in flight.
        using var checkpoints = new CheckpointWriter(spec.Training.AsyncCheckpoint, CheckpointFileWrite, logger, assignment.ExperimentId);
        using var trainData = dataSources.Acquire(spec, training: true);
        // Flat ring, or in memory per node first when several ranks share this node (RingReduction).
        using var reduction = RingReduction.Join(assignment, mailbox, ExperimentCollectiveOptions.For(spec.Training, collectiveOptions), nodeGroups, cancellationToken);
        var frequencies = spec.Loss.ClassSuppression.Sampling == ClassSuppressionSpec.InverseFrequency ? ClassFrequencies.Measure(trainData.Source) : null;
        // Disposed on every exit (the trainer does not own it): on CUDA a finished or failed run's parameters would
        // otherwise stay on the GPU until a GC, and the next runs of a sweep on this node run out of memory.
        using var model = SpecMapping.BuildModel(spec, frequencies);
        model.to(device);
        var criterion = SpecMapping.Criterion(spec, frequencies);
        using var trainer = new DataParallelTrainer(model, criterion, SpecMapping.Optimizer(spec), TrainerReducer(reduction.Reducer),
            SpecMapping.Precision(spec, device), spec.Training.BucketCapMb);
        LogSetup(trainer, reduction.Description, trainData.Source.ClassNames, frequencies);
        var step = StartingStep(trainer, reduction.Reducer);
        using var prefetcher = Prefetcher(trainData.Source, step, cancellationToken);
        var epochLog = new EpochDataLog(assignment.Rank, trainData, logger);
        using var validation = PeriodicValidation.For(assignment, experiment, reduction.Reducer, ExperimentDirectory, dataSources, metrics, labels);
        ValidationPoint? lastValidation = null;
        while (step < spec.TotalSteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dataClock = Stopwatch.StartNew();
            var next = prefetcher.Next();
            using var batch = SegmentationBatch.FromHost(next.Batch, device);
            var dataWait = dataClock.Elapsed;

            LossSchedule.Apply(model, criterion, step, spec.StepsPerEpoch);
            var result = trainer.Step(batch);
            step++;

            var report = Report(experiment, labels, step, result, dataWait);
            epochLog.Record(next.Epoch, report);
            // Validation first: the step's checkpoint records its best so far, and a ring re-formed from that checkpoint
            // does not miss the step's validation.
            lastValidation = validation?.AfterStep(step, trainer, device, checkpoints, cancellationToken) ?? lastValidation;
            if (assignment.Rank == 0 && IsCheckpointStep(step))
                SaveCheckpoint(experiment, trainer, checkpoints, step, trainData.Source.ClassNames, validation?.Best);
            checkpoints.EndStep();
        }
        epochLog.Flush();
        if (assignment.Rank != 0) return null;
        var evaluation = lastValidation?.Step == spec.TotalSteps ? lastValidation.Evaluation : PeriodicValidation.Evaluate(model, device, spec, dataSources, cancellationToken: cancellationToken);
        // The last checkpoint is written while the final evaluation runs; the run completes once it is recorded.
        checkpoints.Complete();
        metrics.RecordEvaluation(labels, evaluation.MeanIoU);
        return evaluation;
    }

    /// <summary>Where this formation starts: every rank loads the same checkpoint (to resume) or the same weights
    /// (training.load_from: step 0, fresh optimiser), so no broadcast is needed to agree on the weights; else rank 0's
    /// initial weights are broadcast, as DDP does.</summary>
    private int StartingStep(DataParallelTrainer trainer, IGradientReducer reducer)
    {
        if (assignment.ResumeFrom is { } checkpoint) return (int)CheckpointStore.Load(checkpoint.Path, trainer);
        if (assignment.Spec.Training.LoadFrom is { } weights) CheckpointStore.LoadWeights(weights, trainer.Model);
        else ParameterBroadcast.FromRankZero(trainer.Model, reducer);
        return 0;
    }

    /// <summary>The shard grain deals each epoch's disjoint slice for this rank. Decoded files load on background threads
    /// (Data:LoaderThreads samples at once) while this thread computes; synthetic samples (cached, cheap) load on this
    /// thread, where a loader thread would gain them nothing.</summary>
    private BatchPrefetcher Prefetcher(ISampleSource source, int startStep, CancellationToken cancellationToken)
    {
        var spec = assignment.Spec;
        var shard = grains.GetGrain<IDatasetShardGrain>(assignment.DatasetShardKey);
        var prefetchDepth = spec.Dataset.Kind == DatasetSpec.Files ? dataSources.Options.PrefetchBatches : 0;
        return new BatchPrefetcher(source,
            epoch => shard.GetEpochSamplesAsync(epoch, assignment.Rank, assignment.WorldSize).GetAwaiter().GetResult(),
            spec.Training.BatchPerWorker, spec.TotalSteps, prefetchDepth, cancellationToken, startStep: startStep,
            loaderThreads: prefetchDepth > 0 ? dataSources.Options.LoaderThreads : 1);
    }

    /// <summary>Step <paramref name="step"/>'s report, to the node's metrics and to the coordinator. Steps do not wait for
    /// the coordinator; the last one does, so this rank's completion cannot overtake its reports.</summary>
    private StepReport Report(IExperimentGrain experiment, WorkerLabels labels, int step, StepResult result, TimeSpan dataWait)
    {
        var report = new StepReport(assignment.Rank, step, result.Loss, result.Images, dataWait.TotalSeconds, result.ForwardBackward.TotalSeconds,
            result.AllReduce.TotalSeconds, result.Optimizer.TotalSeconds, result.AllReduceBytes)
            { Attempt = assignment.Attempt, AllReduceBusySeconds = result.AllReduceBusy.TotalSeconds };
        metrics.RecordStep(labels, report, result.LearningRate);
        metrics.RecordLossScale(labels, result.LossScale, result.Skipped);
        var reported = experiment.ReportStepAsync(report);
        if (step == assignment.Spec.TotalSteps) reported.GetAwaiter().GetResult();
        else reported.ContinueWith(t => logger.LogWarning("Rank {Rank} of {Experiment}: step {Step} report lost: {Error}",
            assignment.Rank, assignment.ExperimentId, step, t.Exception!.GetBaseException().Message), TaskContinuationOptions.OnlyOnFaulted);
        return report;
    }

    private bool IsCheckpointStep(int step)
    {
        var every = assignment.Spec.Training.CheckpointEvery;
        return every > 0 && (step % every == 0 || step == assignment.Spec.TotalSteps);
    }

    private void LogSetup(DataParallelTrainer trainer, string reduction, IReadOnlyList<string> classNames, IReadOnlyList<double>? frequencies)
    {
        var (rank, experiment) = (assignment.Rank, assignment.ExperimentId);
        logger.LogInformation("Rank {Rank} of {Experiment} on {Device}: precision {Precision}, reduces {Reduction}",
            rank, experiment, worker.Device, trainer.Precision.Options, reduction);
        if (rank == 0 && frequencies is not null && trainer.Model is ClassSuppressionNet suppression)
            logger.LogInformation("{Experiment}: inverse-frequency class suppression (PAPERS.md §4), class: pixel frequency on up to {Samples} " +
                "training samples → share of the drops: {Shares}", experiment, ClassFrequencies.DefaultSamples,
                string.Join(", ", classNames.Zip(frequencies, suppression.DropShares).Select(c => $"{c.First}: {c.Second:P2} → {c.Third:P1}")));
        if (trainer.Precision.ContiguousConvolutions.Count > 0)
            logger.LogInformation("Rank {Rank}: {Count} convolutions stay NCHW (wrong in channels_last on {Device} or a peer rank's device): {Convolutions}",
                rank, trainer.Precision.ContiguousConvolutions.Count, worker.Device, string.Join(", ", trainer.Precision.ContiguousConvolutions));
    }

    private string ExperimentDirectory => Path.Combine(checkpointDirectory, assignment.ExperimentId);

    /// <summary>Writes step <paramref name="step"/>'s checkpoint, reports it once it is on disk, then prunes the older ones
    /// (on the writer's thread when asynchronous).</summary>
    private void SaveCheckpoint(IExperimentGrain experiment, DataParallelTrainer trainer, CheckpointWriter checkpoints, int step,
        IReadOnlyList<string> classNames, BestValidation? best)
    {
        var path = StepCheckpoints.PathFor(ExperimentDirectory, step);
        checkpoints.Save(trainer, path, SpecFiles.ToJson(assignment.Spec), classNames, best, async () =>
        {
            var recorded = await experiment.ReportCheckpointAsync(assignment.Attempt, new CheckpointRecord(step, path));
            // Only once recorded: until then the coordinator's last good checkpoint is an older file, and a stale attempt's
            // report is ignored while the re-formed ring resumes from one of the files it would delete.
            if (recorded) PruneCheckpoints(step);
        });
    }

    /// <summary>training.max_keep_checkpoints; a volume that refuses the cleanup costs disk, not the run.</summary>
    private void PruneCheckpoints(int step)
    {
        var keep = assignment.Spec.Training.MaxKeepCheckpoints;
        try
        {
            foreach (var deleted in StepCheckpoints.Prune(ExperimentDirectory, step, keep))
                logger.LogDebug("Rank 0 of {Experiment}: deleted {Checkpoint} (training.max_keep_checkpoints {Keep})", assignment.ExperimentId, deleted, keep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Rank 0 of {Experiment}: old checkpoints not deleted (training.max_keep_checkpoints {Keep}): {Error}", assignment.ExperimentId, keep, e.Message);
        }
    }

    /// <summary>Retries while the coordinator is unreachable (its node was lost and Orleans has not yet
    /// reactivated it elsewhere): the failure report is what makes the experiment re-form or fail. One that gives up is not
    /// lost for good: the coordinator's watchdog reads the failure from this rank's worker.</summary>
    private void ReportFailure(IExperimentGrain experiment, RankFailure failure, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReportFailureFor;
        while (true)
        {
            try
            {
                experiment.ReportFailedAsync(assignment.Rank, assignment.Attempt, failure.Error, failure.Retryable).GetAwaiter().GetResult();
                return;
            }
            catch (Exception e)
            {
                if (DateTime.UtcNow >= deadline || cancellationToken.IsCancellationRequested)
                {
                    logger.LogError("Rank {Rank} of {Experiment} gave up reporting its failure: {Error}", assignment.Rank, assignment.ExperimentId, e.Message);
                    return;
                }
                logger.LogWarning("Rank {Rank} of {Experiment} could not report its failure yet: {Error}", assignment.Rank, assignment.ExperimentId, e.Message);
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }
}
