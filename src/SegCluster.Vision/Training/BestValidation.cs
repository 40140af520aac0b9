namespace SegCluster.Vision.Training;

/// <summary>
/// The best validation of a run so far, recorded in its checkpoints, so a run resumed from one keeps the best score
/// (as mmengine's CheckpointHook keeps best_score) and does not replace a better best.ckpt with its first validation,
/// and knows which file holds those weights: a run resumed under a new id that never beats the score writes no
/// best.ckpt of its own, and points at the earlier run's one instead (as Ray Tune reports a trial's best checkpoint).
/// </summary>
/// <param name="Metric">What <paramref name="Score"/> measures (the spec's training.best_metric); a run with another metric starts afresh.</param>
/// <param name="Score">The best finite score, higher is better.</param>
/// <param name="Step">The step it was reached at.</param>
/// <param name="Path">The checkpoint file written with the weights of that step (a best.ckpt, maybe another run's); null in
/// files written before it was recorded, which still load.</param>
public sealed record BestValidation(string Metric, double Score, int Step, string? Path = null)
{
    /// <summary>
    /// Why <see cref="Path"/> does not hold this best's weights, or null when it does: the file must exist and record this
    /// same best (metric, score and step), as a best.ckpt records its own. A file deleted since (an old run's folder cleaned
    /// up), or written over by a later, better validation of the run that wrote it, does not. Reads only the file's header.
    /// </summary>
    public string? PathProblem()
    {
        if (Path is null) return "the checkpoint that recorded it is older than best-checkpoint paths, so the file is unknown";
        if (!File.Exists(Path)) return $"'{Path}' no longer exists";
        try
        {
            var recorded = CheckpointStore.ReadMetadata(Path).Best;
            if (recorded is not null && recorded.Metric == Metric && recorded.Score.Equals(Score) && recorded.Step == Step) return null;
            return $"'{Path}' no longer holds it: it was written over{(recorded is null ? "" : $" with the best of step {recorded.Step}")}";
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return $"'{Path}' cannot be read ({e.Message})";
        }
    }
}
