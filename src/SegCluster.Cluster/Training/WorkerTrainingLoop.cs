using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
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
/// </summary>
public sealed class WorkerTrainingLoop(
    TrainingAssignment assignment,
    WorkerInfo worker,
    IGrainFactory grains,
    CollectiveMailbox mailbox,
    CollectiveOptions collectiveOptions,
    SegClusterMetrics metrics,
    TrainingDataSources dataSources,
    ILogger<WorkerTrainingLoop> logger)
{
    public void Run(CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(assignment.ExperimentId);
        var labels = new WorkerLabels(assignment.ExperimentId, worker.WorkerId, worker.NodeId, worker.Device);
        try
        {
            var evaluation = Train(experiment, labels, cancellationToken);
            experiment.ReportCompletedAsync(assignment.Rank, evaluation).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Rank {Rank} of {Experiment} cancelled", assignment.Rank, assignment.ExperimentId);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Rank {Rank} of {Experiment} failed", assignment.Rank, assignment.ExperimentId);
            experiment.ReportFailedAsync(assignment.Rank, e.Message).GetAwaiter().GetResult();
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
        using var trainData = dataSources.Acquire(spec, training: true);
        var shard = grains.GetGrain<IDatasetShardGrain>(assignment.DatasetShardKey);

        using var ring = new RingAllReduce(new RingGroup(assignment.RingId, assignment.RingEndpoints), rank, mailbox, collectiveOptions);
        var reducer = new RingGradientReducer(ring, cancellationToken);
        var model = ModelRegistry.Create(SpecMapping.Model(spec));
        model.to(device);
        ParameterBroadcast.FromRankZero(model, reducer);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(SpecMapping.Loss(spec)), SpecMapping.Optimizer(spec), reducer);

        // The shard grain deals each epoch's disjoint slice for this rank. Decoded files load on a background task
        // while this thread computes. Synthetic samples (cached, cheap) load on this thread as before: with a
        // concurrent loader, two SPGNet quickstarts failed inside TorchSharp's BatchNorm.forward, whose
        // num_batches_tracked.add_(1) passes temporary Scalars that GC can finalize mid-call (see Layers.Add).
        var prefetchDepth = spec.Dataset.Kind == DatasetSpec.Files ? dataSources.Options.PrefetchBatches : 0;
        using var prefetcher = new BatchPrefetcher(trainData.Source,
            epoch => shard.GetEpochSamplesAsync(epoch, rank, worldSize).GetAwaiter().GetResult(),
            batchSize, spec.TotalSteps, prefetchDepth, cancellationToken);
        var epochLog = new EpochDataLog(rank, trainData, logger);
        for (var step = 0; step < spec.TotalSteps;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dataClock = Stopwatch.StartNew();
            var next = prefetcher.Next();
            using var batch = SegmentationBatch.Collate(next.Samples, device);
            var dataWait = dataClock.Elapsed.TotalSeconds;

            var result = trainer.Step(batch);
            step++;
            var report = new StepReport(rank, step, result.Loss, result.Images, dataWait, result.ForwardBackward.TotalSeconds,
                result.AllReduce.TotalSeconds, result.Optimizer.TotalSeconds, result.AllReduceBytes);
            // The learning rate is constant today (no schedule yet); the gauge reports what the optimizer used.
            metrics.RecordStep(labels, report, spec.Training.LearningRate);
            epochLog.Record(next.Epoch, report);
            experiment.ReportStepAsync(report).GetAwaiter().GetResult();
        }
        epochLog.Flush();
        if (rank != 0) return null;
        var evaluation = Evaluate(model, device, spec, dataSources);
        metrics.RecordEvaluation(labels, evaluation.MeanIoU);
        return evaluation;
    }

    private static EvaluationReport Evaluate(SegmentationModel model, torch.Device device, ExperimentSpec spec, TrainingDataSources dataSources)
    {
        using var lease = dataSources.Acquire(spec, training: false);
        var validation = lease.Source;
        var metrics = Evaluator.Evaluate(model, validation, Enumerable.Range(0, validation.Count).ToList(), spec.Training.EvaluationBatch, device);
        return new EvaluationReport(metrics.MeanIoU, metrics.PixelAccuracy, [.. metrics.ClassIoU], [.. validation.ClassNames]);
    }
}
