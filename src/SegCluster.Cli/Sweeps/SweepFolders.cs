using SegCluster.Abstractions.Grains;

namespace SegCluster.Cli.Sweeps;

/// <summary>Finds a sweep's report folder from what the user typed: a folder path, a sweep id, or a sweep name (latest run).</summary>
public static class SweepFolders
{
    /// <summary>The folder of a sweep's report (results.json).</summary>
    public static DirectoryInfo? Find(string sweep, DirectoryInfo root, out string error) =>
        Find(sweep, root, HasReport, "sweep report", SweepReport.JsonFile, "run `segcluster sweep SPEC` first", out error);

    /// <summary>The folder of a sweep that kept its state for `sweep --resume` (state/sweep.json), finished or not.</summary>
    public static DirectoryInfo? FindResumable(string sweep, DirectoryInfo root, out string error) =>
        Find(sweep, root, SweepStateFolder.Exists, "resumable sweep", Path.Combine(SweepStateFolder.FolderName, SweepStateFolder.ManifestFile),
            "sweeps keep it when run by `segcluster sweep SPEC` on an embedded cluster (one run with --cluster resumes with --resume ID --cluster)", out error);

    private static DirectoryInfo? Find(string sweep, DirectoryInfo root, Func<string, bool> has, string what, string file, string hint, out string error)
    {
        error = "";
        if (has(sweep)) return new DirectoryInfo(sweep);
        var byId = Path.Combine(root.FullName, sweep);
        if (has(byId)) return new DirectoryInfo(byId);
        // A sweep name: its runs are "{name}-{yyyyMMdd-HHmmss-fff}" (RunIds.Timestamped; earlier versions wrote whole seconds,
        // which sort before the same second with milliseconds), so the last in order is the latest.
        // Exactly the name and a timestamp: "lr" must not find "lr-big-…", which sorts after "lr-2026…".
        var runs = root.Exists
            ? root.GetDirectories($"{sweep}-*").Where(d => RunIds.IsTimestampedRunOf(sweep, d.Name) && has(d.FullName)).OrderBy(d => d.Name, StringComparer.Ordinal).ToList()
            : [];
        if (runs.Count > 0) return runs[^1];
        var known = root.Exists ? root.GetDirectories().Where(d => has(d.FullName)).Select(d => d.Name).Order().ToList() : [];
        error = $"no {what} '{sweep}' (looked for {sweep}/{file} and under {root.FullName}); " +
                (known.Count > 0 ? $"sweeps there: {string.Join(", ", known)}." : $"none there yet; {hint}.");
        return null;
    }

    private static bool HasReport(string folder) => File.Exists(Path.Combine(folder, SweepReport.JsonFile));
}
