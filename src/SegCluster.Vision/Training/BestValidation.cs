namespace SegCluster.Vision.Training;

/// <summary>
/// The best validation of a run so far, recorded in its checkpoints, so a run resumed from one keeps the best score
/// (as mmengine's CheckpointHook keeps best_score) and does not replace a better best.ckpt with its first validation.
/// </summary>
/// <param name="Metric">What <paramref name="Score"/> measures (the spec's training.best_metric); a run with another metric starts afresh.</param>
/// <param name="Score">The best finite score, higher is better.</param>
/// <param name="Step">The step it was reached at.</param>
public sealed record BestValidation(string Metric, double Score, int Step);
