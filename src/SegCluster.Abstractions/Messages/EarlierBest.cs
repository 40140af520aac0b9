namespace SegCluster.Abstractions.Messages;

/// <summary>
/// The best validation a run resumed from another run's checkpoint (training.resume_from) starts with, as that checkpoint
/// records it, and the file written with its weights: the earlier run's best.ckpt. The run keeps that score (as mmengine
/// keeps best_score) and writes a best.ckpt of its own only when a validation beats it, so until then the earlier file is
/// its best checkpoint: a run resumed under a new id, or a sweep trial's attempt continuing from an earlier attempt.
/// </summary>
/// <param name="Metric">training.best_metric (miou or pixel_accuracy).</param>
/// <param name="Score">The best score, higher is better.</param>
/// <param name="Step">The step whose weights the file holds.</param>
/// <param name="Path">The file; null when the checkpoint predates recording it.</param>
[GenerateSerializer, Immutable, Alias("SegCluster.EarlierBest")]
public sealed record EarlierBest(
    [property: Id(0)] string Metric,
    [property: Id(1)] double Score,
    [property: Id(2)] int Step,
    [property: Id(3)] string? Path)
{
    /// <summary>In a status: why the run has no best checkpoint to point at although it has this best, as a sentence (the
    /// file was deleted or written over since, or is unknown), checked when the status is made; null when the file holds
    /// these weights, and in the coordinator's record.</summary>
    [Id(4)] public string? Problem { get; init; }

    /// <summary>The file as a checkpoint of <see cref="Step"/>; null when unknown.</summary>
    public CheckpointRecord? Checkpoint => Path is null ? null : new(Step, Path);
}
