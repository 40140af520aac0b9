namespace SegCluster.Abstractions.Messages;

/// <summary>A snapshot of one experiment, as `segcluster status` and progress bars show it.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ExperimentStatus")]
public sealed record ExperimentStatus(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] ExperimentState State,
    [property: Id(2)] int Step,
    [property: Id(3)] int TotalSteps,
    [property: Id(4)] double Loss,
    [property: Id(5)] double ImagesPerSecond,
    [property: Id(6)] int Workers,
    [property: Id(7)] double ElapsedSeconds,
    [property: Id(8)] EvaluationReport? Evaluation,
    [property: Id(9)] string? Error)
{
    /// <summary>How many times the ring was formed (1 = never re-formed after a failure).</summary>
    [Id(10)] public int Attempt { get; init; }
    /// <summary>Steps taken again after failures: per recovery, the step reached minus the checkpoint resumed from.</summary>
    [Id(11)] public int StepsRedone { get; init; }
    /// <summary>The last good checkpoint, if checkpoints are on.</summary>
    [Id(12)] public CheckpointRecord? Checkpoint { get; init; }
    /// <summary>The checkpoint the run resumed from (training.resume_from), where a Ctrl+C'd run that wrote none of its own
    /// continues from; null for a fresh run.</summary>
    [Id(15)] public CheckpointRecord? ResumedFrom { get; init; }
    /// <summary>Workers of the current formation.</summary>
    [Id(13)] public IReadOnlyList<string> WorkerIds { get; init; } = [];
    /// <summary>Node whose silo hosts the coordinator (this grain) now.</summary>
    [Id(14)] public string? CoordinatorNode { get; init; }
    /// <summary>Periodic validations so far (training.validate_every), oldest first.</summary>
    [Id(40)] public IReadOnlyList<ValidationPoint> Validations { get; init; } = [];
    /// <summary>Where the weights with the best training.best_metric so far are: this run's best.ckpt (kept next to the last
    /// checkpoint) once one of its validations wrote it; before that, for a run resumed from another run's checkpoint, that
    /// run's best checkpoint (<see cref="EarlierBest"/>) while the file still holds those weights. Null when there is none.</summary>
    [Id(41)] public CheckpointRecord? BestCheckpoint { get; init; }
    /// <summary>Set while the best is still the one the checkpoint this run resumed from records (no validation of this run
    /// has beaten it): <see cref="BestCheckpoint"/> is then its file, or null with <see cref="Messages.EarlierBest.Problem"/>
    /// saying why (the file no longer exists, say).</summary>
    [Id(43)] public EarlierBest? EarlierBest { get; init; }
    /// <summary>A start was taken up and has not launched or been refused yet: still <see cref="ExperimentState.Pending"/>
    /// while it checks the spec's files (the dataset folder, a starting checkpoint), which may outlast its caller's timeout.
    /// Kept in memory by the coordinator's activation.</summary>
    [Id(42)] public bool Starting { get; init; }
}
