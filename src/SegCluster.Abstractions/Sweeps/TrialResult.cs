using System.Text.Json.Serialization;
using SegCluster.Abstractions.Messages;

namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// Everything known about one trial; persisted in the sweep's grain state on every transition.
/// <see cref="Metric"/> is the sweep metric (final value, or the last reported one for a stopped trial).
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.TrialResult")]
public sealed record TrialResult
{
    [Id(0)] public int Index { get; init; }
    /// <summary>Run name, "{sweep}-t{index}".</summary>
    [Id(1)] public string Name { get; init; } = "";
    [Id(2)] public IReadOnlyList<AxisValue> Parameters { get; init; } = [];
    [Id(3)] public TrialState State { get; init; }
    /// <summary>Times the trial was launched; a trial interrupted by a lost coordinator is launched again.</summary>
    [Id(4)] public int Attempt { get; init; }
    [Id(5)] public string? ExperimentId { get; init; }
    [Id(6)] public int Steps { get; init; }
    [Id(7)] public double? Metric { get; init; }
    [Id(8), JsonPropertyName("miou")] public double? MeanIoU { get; init; }
    [Id(9)] public double? PixelAccuracy { get; init; }
    [Id(10)] public double? FinalLoss { get; init; }
    /// <summary>Training loss (moving mean) against step, thinned to at most a few hundred points.</summary>
    [Id(11)] public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    /// <summary>ASHA: the metric recorded at each rung the trial reached.</summary>
    [Id(12)] public IReadOnlyList<CurvePoint> Rungs { get; init; } = [];
    /// <summary>Why it was skipped, stopped or failed.</summary>
    [Id(13)] public string? Reason { get; init; }
    [Id(14)] public DateTime? StartedAt { get; init; }
    [Id(15)] public DateTime? FinishedAt { get; init; }
    [Id(16)] public IReadOnlyList<string> Workers { get; init; } = [];
    /// <summary>Failed attempts launched again under the sweep's max_failures since the trial last (re)started: a resume gives it the whole budget again.</summary>
    [Id(17)] public int Failures { get; init; }
    /// <summary>The sweep metric of each validation during training (mIoU or pixel accuracy against step; ASHA on a
    /// validation metric compares these at its rungs), thinned like <see cref="Curve"/>.</summary>
    [Id(18)] public IReadOnlyList<CurvePoint> Validations { get; init; } = [];
    /// <summary>The step of an earlier attempt's checkpoint this attempt continued from (training.resume_from), or null
    /// when it started from scratch.</summary>
    [Id(19)] public int? ResumedFromStep { get; init; }
    /// <summary>That checkpoint's path: an attempt that fails before it writes a checkpoint of its own leaves this one the
    /// trial's latest, and the next attempt continues from it.</summary>
    [Id(20)] public string? ResumedFromPath { get; init; }
    /// <summary>Where the trial's best weights are (training.best_metric, the sweep's metric under ASHA on a validation):
    /// its last attempt's best.ckpt, or, when that attempt continued from an earlier attempt's checkpoint and never beat
    /// the best it records, the earlier attempt's best.ckpt (as Ray Tune reports a trial's best checkpoint). Null when the
    /// trial did not validate during training, or when that file no longer holds the weights (<see cref="BestCheckpointProblem"/>).</summary>
    [Id(21)] public CheckpointRecord? BestCheckpoint { get; init; }
    /// <summary>Why there is no <see cref="BestCheckpoint"/> although the trial has a best: the earlier attempt's file no longer
    /// exists, say.</summary>
    [Id(22)] public string? BestCheckpointProblem { get; init; }

    /// <summary>Each class's IoU in the trial's final evaluation, by class name, null for a class absent from the validation
    /// split (as result.json's class_iou): the rare classes PAPERS.md §4 is about, and §3's rare-class enrichment, per trial.
    /// Null until the trial ends with an evaluation (not an empty dictionary: a record compares it by reference, and two
    /// results without one, a stored one and its copy read back, must stay equal).</summary>
    [Id(23), JsonPropertyName("class_iou")] public IReadOnlyDictionary<string, double?>? ClassIoU { get; init; }

    /// <summary>The share of each training image an annotator labels for the trial's labels (PAPERS.md §2 block annotation's
    /// cost, §5 scribbles; 1 for dense masks), as result.json's labelled_fraction; null until the trial ends, or where it
    /// could not be measured (a scribbled dataset the coordinator's node cannot read).</summary>
    [Id(24)] public double? LabelledFraction { get; init; }

    public double? Seconds => StartedAt is { } s && FinishedAt is { } f ? (f - s).TotalSeconds : null;

    public string? ValueOf(string path) => Parameters.FirstOrDefault(p => p.Path == path)?.Value;
}
