using System.Globalization;
using System.Text.RegularExpressions;

namespace SegCluster.Cluster.Training;

/// <summary>
/// The step checkpoints of one experiment's folder, <c>step-NNNNNN.ckpt</c>, and their retention
/// (training.max_keep_checkpoints, mmsegmentation's CheckpointHook <c>max_keep_ckpts</c>): a long run writing every N
/// steps, or a sweep of many trials, would otherwise fill the shared checkpoint volume.
/// </summary>
public static partial class StepCheckpoints
{
    public static string PathFor(string experimentDirectory, int step) =>
        Path.GetFullPath(Path.Combine(experimentDirectory, $"step-{step:D6}.ckpt"));

    /// <summary>
    /// Deletes the step checkpoints older than the <paramref name="keep"/> newest up to <paramref name="current"/>, the
    /// one just written and recorded by the coordinator (call only then: so its last good checkpoint is never among them). Files of later
    /// steps are left: they come from an earlier formation of the ring that got further before it broke, and this
    /// formation overwrites them as it passes their steps. best.ckpt and other files are not step checkpoints.
    /// <paramref name="keep"/> 0 keeps every one. Returns the deleted paths.
    /// </summary>
    public static IReadOnlyList<string> Prune(string experimentDirectory, int current, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        if (keep == 0 || !Directory.Exists(experimentDirectory)) return [];
        var older = Directory.EnumerateFiles(experimentDirectory, "step-*.ckpt")
            .Select(path => (Path: path, Step: StepOf(path)))
            .Where(c => c.Step is { } step && step <= current)
            .OrderByDescending(c => c.Step)
            .Skip(keep)
            .Select(c => c.Path)
            .ToList();
        foreach (var path in older) File.Delete(path);
        return older;
    }

    private static int? StepOf(string path) =>
        StepFileName().Match(Path.GetFileName(path)) is { Success: true } match
            ? int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"^step-(\d{6,9})\.ckpt$")]
    private static partial Regex StepFileName();
}
