using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Telemetry;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using TorchSharp;

namespace SegCluster.Cluster.Training;

/// <summary>
/// Validation during training (training.validate_every, validate_growth), on every rank: every N steps (or at N·g^k) and after the last, rank 0's
/// BatchNorm running statistics are broadcast (with plain `bn` they are rank-local; eval mode uses them, training mode
/// does not, so this changes no training step), each rank evaluates every W-th validation sample and the confusion
/// counts are summed exactly over the ring. So a validation costs 1/W of the split per rank, and no rank idles at an
/// all-reduce (with its timeout) while another evaluates alone. Rank 0 reports mIoU and per-class IoU to the experiment
/// and the mIoU gauge, and when the chosen metric beats every earlier validation, writes "best.ckpt" atomically next
/// to the step checkpoints and reports it as the best one. The best score so far comes from the experiment's persisted
/// validations and, for a run resumed from another run's checkpoint, from the best that checkpoint records, so neither
/// a re-formed ring nor a resumed run overwrites a better checkpoint with a worse one. The best carries the path of the
/// file holding its weights into every step checkpoint: this run's best.ckpt once it wrote one, else the earlier run's
/// (<see cref="ResumedBest"/>), which the experiment reports until a validation beats it. It holds the validation
/// split for the whole run, so the node's decoded-sample cache of it lives from one validation to the next.
/// </summary>
public sealed class PeriodicValidation : IDisposable
{
    private readonly ExperimentSpec _spec;
    private readonly IExperimentGrain _experiment;
    private readonly int _attempt;
    private readonly IGradientReducer _reducer;
    private readonly string _bestPath;
    private readonly SegClusterMetrics _metrics;
    private readonly WorkerLabels _labels;
    private readonly SampleSourceLease _validation;

    /// <param name="earlier">This experiment's validations before this formation (rank 0).</param>
    /// <param name="resumed">The best recorded in the checkpoint this run resumed from, when it records one (rank 0).</param>
    public PeriodicValidation(ExperimentSpec spec, IExperimentGrain experiment, int attempt, IGradientReducer reducer, string experimentDirectory,
        TrainingDataSources dataSources, SegClusterMetrics metrics, WorkerLabels labels, IReadOnlyList<ValidationPoint> earlier, BestValidation? resumed = null)
    {
        (_spec, _experiment, _attempt, _reducer, _metrics, _labels) = (spec, experiment, attempt, reducer, metrics, labels);
        _bestPath = Path.GetFullPath(Path.Combine(experimentDirectory, "best.ckpt"));
        Best = Kept(spec, resumed);
        foreach (var point in earlier) Improve(point);
        _validation = dataSources.Acquire(spec, training: false);
    }

    /// <summary>For every rank when the spec validates periodically, else null (nothing to do). Rank 0 asks the
    /// experiment for the validations of earlier formations and reads the best its resume checkpoint records.</summary>
    public static PeriodicValidation? For(TrainingAssignment assignment, IExperimentGrain experiment, IGradientReducer reducer, string experimentDirectory,
        TrainingDataSources dataSources, SegClusterMetrics metrics, WorkerLabels labels)
    {
        if (!assignment.Spec.Training.ValidatesDuringTraining) return null;
        var rankZero = assignment.Rank == 0;
        var earlier = rankZero ? experiment.GetStatusAsync().GetAwaiter().GetResult().Validations : [];
        var resumed = rankZero && assignment.ResumeFrom is { } checkpoint ? ResumedBest(assignment.Spec, checkpoint.Path) : null;
        return new PeriodicValidation(assignment.Spec, experiment, assignment.Attempt, reducer, experimentDirectory, dataSources, metrics, labels, earlier, resumed);
    }

    /// <summary>
    /// The best a run of <paramref name="spec"/> resumed from <paramref name="checkpoint"/> starts with: the one the checkpoint
    /// records, when the run validates during training by the same metric (another metric starts afresh); null otherwise,
    /// and for a version-1 file, which records none (and which training resumes from: this must not refuse it). Rank 0
    /// seeds its best with it, and the experiment reports its path as the run's best checkpoint until a validation of the
    /// run beats it: one rule for both.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or a corrupt one.</exception>
    /// <exception cref="IOException">The file cannot be read (FileNotFoundException when it is missing).</exception>
    public static BestValidation? ResumedBest(ExperimentSpec spec, string checkpoint) =>
        spec.Training.ValidatesDuringTraining ? ResumedBest(spec, CheckpointStore.ReadMetadataIfAny(checkpoint)) : null;

    /// <summary><see cref="ResumedBest(ExperimentSpec, string)"/> from a header already read (the experiment's preflight's).</summary>
    public static BestValidation? ResumedBest(ExperimentSpec spec, CheckpointMetadata? metadata) =>
        spec.Training.ValidatesDuringTraining ? Kept(spec, metadata?.Best) : null;

    private static BestValidation? Kept(ExperimentSpec spec, BestValidation? recorded) =>
        recorded?.Metric == spec.Training.BestMetric ? recorded : null;

    /// <summary>The best validation so far (rank 0), recorded in the step checkpoints; null before one scored.</summary>
    public BestValidation? Best { get; private set; }

    public bool IsDue(int step) => _spec.Training.ValidatesAfter(step, _spec.TotalSteps);

    /// <summary>Call after optimizer step <paramref name="step"/> on every rank; validates when due. Rank 0 writes best.ckpt
    /// and reports the validation through <paramref name="checkpoints"/>: in order with the checkpoints, the best once its
    /// file is on disk.</summary>
    /// <returns>The validation (the same on every rank), or null when not due.</returns>
    public ValidationPoint? AfterStep(int step, DataParallelTrainer trainer, torch.Device device, CheckpointWriter checkpoints, CancellationToken cancellationToken = default)
    {
        if (!IsDue(step)) return null;
        ParameterBroadcast.BuffersFromRankZero(trainer.Model, _reducer);
        var evaluation = Evaluate(trainer.Model, device, _spec, _validation.Source, _reducer, cancellationToken);
        var point = new ValidationPoint(step, evaluation);
        if (_reducer.Rank != 0) return point;
        _metrics.RecordEvaluation(_labels, evaluation.MeanIoU);
        if (Improve(point))
        {
            var best = new CheckpointRecord(step, _bestPath);
            checkpoints.Save(trainer, _bestPath, SpecFiles.ToJson(_spec), evaluation.ClassNames, Best, () => _experiment.ReportValidationAsync(_attempt, point, best));
        }
        else
        {
            checkpoints.Report($"the validation of step {step}", () => _experiment.ReportValidationAsync(_attempt, point, null));
        }
        return point;
    }

    /// <summary>Makes <paramref name="point"/> the best when its score beats the best so far; NaN (nothing valid) never does.</summary>
    private bool Improve(ValidationPoint point)
    {
        var evaluation = point.Evaluation;
        var score = _spec.Training.BestMetric == TrainingSpec.PixelAccuracyMetric ? evaluation.PixelAccuracy : evaluation.MeanIoU;
        if (!double.IsFinite(score) || Best is { } best && score <= best.Score) return false;
        // Every improvement is (or, for an earlier formation's validation, was) written to this run's best.ckpt.
        Best = new BestValidation(_spec.Training.BestMetric, score, point.Step, _bestPath);
        return true;
    }

    /// <summary>Evaluates <paramref name="model"/> on the spec's validation split (periodic and final evaluation).</summary>
    /// <param name="acrossRanks">Spread over this group (call on every rank); null: this rank evaluates all of it.</param>
    /// <param name="cancellationToken">Checked per batch, so a cancelled run's evaluation ends within a batch.</param>
    public static EvaluationReport Evaluate(SegmentationModel model, torch.Device device, ExperimentSpec spec, TrainingDataSources dataSources,
        IGradientReducer? acrossRanks = null, CancellationToken cancellationToken = default)
    {
        using var lease = dataSources.Acquire(spec, training: false);
        return Evaluate(model, device, spec, lease.Source, acrossRanks ?? new SingleRankReducer(), cancellationToken);
    }

    private static EvaluationReport Evaluate(SegmentationModel model, torch.Device device, ExperimentSpec spec, ISampleSource validation,
        IGradientReducer acrossRanks, CancellationToken cancellationToken)
    {
        var metrics = Evaluator.EvaluateAcrossRanks(model, validation, spec.Training.EvaluationBatch, device, acrossRanks, cancellationToken).ToMetrics();
        // Copies into plain arrays: the report is stored in grain state, and a compiler-generated list type may not read back.
        return new EvaluationReport(metrics.MeanIoU, metrics.PixelAccuracy, metrics.ClassIoU.ToArray(), validation.ClassNames.ToArray());
    }

    public void Dispose() => _validation.Dispose();
}
