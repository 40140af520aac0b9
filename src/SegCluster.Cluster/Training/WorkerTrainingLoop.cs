using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using TorchSharp;

namespace SegCluster.Cluster.Training;

/// <summary>
/// One rank's training run, top to bottom: join the ring, build the model (rank 0's weights broadcast),
/// then per step fetch the batch, step (forward, backward, all-reduce, optimizer), report. Rank 0 evaluates
/// at the end. Runs on a dedicated thread; grain calls are made from here and awaited synchronously.
/// With training.checkpoint_every, rank 0 writes a checkpoint every N steps (and after the last) and reports
/// it; a re-formed ring loads it on every rank and skips the steps already taken, so the data order and the
/// optimizer state are those of an uninterrupted run.
/// </summary>
public sealed class WorkerTrainingLoop(
    TrainingAssignment assignment,
    WorkerInfo worker,
    IGrainFactory grains,
    CollectiveMailbox mailbox,
    CollectiveOptions collectiveOptions,
    SegClusterMetrics metrics,
    string checkpointDirectory,
    ILogger<WorkerTrainingLoop> logger)
{
    /// <summary>How long a failure report keeps trying while the coordinator moves off a lost node.</summary>
    private static readonly TimeSpan ReportFailureFor = TimeSpan.FromSeconds(90);

    public void Run(CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(assignment.ExperimentId);
        var labels = new WorkerLabels(assignment.ExperimentId, worker.WorkerId, worker.NodeId, worker.Device);
        try
        {
            var evaluation = Train(experiment, labels, cancellationToken);
            experiment.ReportCompletedAsync(assignment.Rank, assignment.Attempt, evaluation).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Rank {Rank} of {Experiment} cancelled", assignment.Rank, assignment.ExperimentId);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Rank {Rank} of {Experiment} failed", assignment.Rank, assignment.ExperimentId);
            ReportFailure(experiment, e.Message, cancellationToken);
        }
        finally
        {
            metrics.Forget(labels);
        }
    }

    private EvaluationReport? Train(IExperimentGrain experiment, WorkerLabels labels, CancellationToken cancellationToken)
    {
        var spec = assignment.Spec;
        var (rank, worldSize, batchSize) = (assignment.Rank, assignment.WorldSize, spec.Training.BatchPerWorker);
        var device = DeviceParser.Parse(worker.Device);
        var dataset = new SyntheticSceneDataset(SpecMapping.TrainData(spec));
        var shard = grains.GetGrain<IDatasetShardGrain>(assignment.DatasetShardKey);

        using var ring = new RingAllReduce(new RingGroup(assignment.RingId, assignment.RingEndpoints), rank, mailbox, collectiveOptions);
        var reducer = new RingGradientReducer(ring, cancellationToken);
        var frequencies = spec.Loss.ClassSuppression.Sampling == ClassSuppressionSpec.InverseFrequency ? ClassFrequencies.Measure(dataset) : null;
        var model = SpecMapping.BuildModel(spec, frequencies);
        model.to(device);
        var criterion = SpecMapping.Criterion(spec, frequencies);
        using var trainer = new DataParallelTrainer(model, criterion, SpecMapping.Optimizer(spec), reducer);
        // Every rank loads the same checkpoint, so no broadcast is needed to agree on the weights.
        var resumeStep = assignment.ResumeFrom is { } checkpoint ? (int)CheckpointStore.Load(checkpoint.Path, trainer) : 0;
        if (assignment.ResumeFrom is null) ParameterBroadcast.FromRankZero(model, reducer);

        var step = 0;
        for (var epoch = 0; step < spec.TotalSteps; epoch++)
        {
            var batches = shard.GetSampleCountAsync().GetAwaiter().GetResult() / worldSize / batchSize;
            if (step + batches <= resumeStep)
            {
                step += batches;  // a whole epoch already taken before the checkpoint
                continue;
            }
            var order = shard.GetEpochSamplesAsync(epoch, rank, worldSize).GetAwaiter().GetResult();
            for (var start = 0; start + batchSize <= order.Length && step < spec.TotalSteps; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (step < resumeStep)
                {
                    step++;  // taken before the checkpoint: same order, nothing to recompute
                    continue;
                }
                var dataClock = Stopwatch.StartNew();
                var samples = order.AsSpan(start, batchSize).ToArray().Select(dataset.Get).ToList();
                using var batch = SegmentationBatch.Collate(samples, device);
                var dataWait = dataClock.Elapsed.TotalSeconds;

                LossSchedule.Apply(model, criterion, step, spec.StepsPerEpoch);
                var result = trainer.Step(batch);
                step++;
                var report = new StepReport(rank, step, result.Loss, result.Images, dataWait, result.ForwardBackward.TotalSeconds,
                    result.AllReduce.TotalSeconds, result.Optimizer.TotalSeconds, result.AllReduceBytes) { Attempt = assignment.Attempt };
                // The learning rate is constant today (no schedule yet); the gauge reports what the optimizer used.
                metrics.RecordStep(labels, report, spec.Training.LearningRate);
                experiment.ReportStepAsync(report).GetAwaiter().GetResult();
                var every = spec.Training.CheckpointEvery;
                if (rank == 0 && every > 0 && (step % every == 0 || step == spec.TotalSteps))
                    SaveCheckpoint(experiment, trainer, step);
            }
        }
        if (rank != 0) return null;
        var evaluation = Evaluate(model, device, spec);
        metrics.RecordEvaluation(labels, evaluation.MeanIoU);
        return evaluation;
    }

    private void SaveCheckpoint(IExperimentGrain experiment, DataParallelTrainer trainer, int step)
    {
        var path = Path.GetFullPath(Path.Combine(checkpointDirectory, assignment.ExperimentId, $"step-{step:D6}.ckpt"));
        CheckpointStore.Save(path, trainer);
        experiment.ReportCheckpointAsync(assignment.Attempt, new CheckpointRecord(step, path)).GetAwaiter().GetResult();
    }

    /// <summary>Retries while the coordinator is unreachable (its node was lost and Orleans has not yet
    /// reactivated it elsewhere): the failure report is what makes the experiment re-form.</summary>
    private void ReportFailure(IExperimentGrain experiment, string error, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReportFailureFor;
        while (true)
        {
            try
            {
                experiment.ReportFailedAsync(assignment.Rank, assignment.Attempt, error).GetAwaiter().GetResult();
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

    private static EvaluationReport Evaluate(SegmentationModel model, torch.Device device, ExperimentSpec spec)
    {
        var validation = new SyntheticSceneDataset(SpecMapping.ValidationData(spec));
        var metrics = Evaluator.Evaluate(model, validation, Enumerable.Range(0, validation.Count).ToList(), spec.Training.EvaluationBatch, device);
        return new EvaluationReport(metrics.MeanIoU, metrics.PixelAccuracy, [.. metrics.ClassIoU], [.. validation.ClassNames]);
    }
}
