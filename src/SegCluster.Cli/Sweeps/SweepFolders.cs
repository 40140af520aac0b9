using SegCluster.Abstractions.Grains;

namespace SegCluster.Cli.Sweeps;

/// <summary>Finds a sweep's report folder from what the user typed: a folder path, a sweep id, or a sweep name (latest run).</summary>
public static class SweepFolders
{
    public static DirectoryInfo? Find(string sweep, DirectoryInfo root, out string error)
    {
        error = "";
        if (HasReport(sweep)) return new DirectoryInfo(sweep);
        var byId = Path.Combine(root.FullName, sweep);
        if (HasReport(byId)) return new DirectoryInfo(byId);
        // A sweep name: its runs are "{name}-{yyyyMMdd-HHmmss-fff}" (RunIds.Timestamped; earlier versions wrote whole seconds,
        // which sort before the same second with milliseconds), so the last in order is the latest.
        // Exactly the name and a timestamp: "lr" must not find "lr-big-…", which sorts after "lr-2026…".
        var runs = root.Exists
            ? root.GetDirectories($"{sweep}-*").Where(d => RunIds.IsTimestampedRunOf(sweep, d.Name) && HasReport(d.FullName)).OrderBy(d => d.Name, StringComparer.Ordinal).ToList()
            : [];
        if (runs.Count > 0) return runs[^1];
        var known = root.Exists ? root.GetDirectories().Where(d => HasReport(d.FullName)).Select(d => d.Name).Order().ToList() : [];
        error = $"no sweep report '{sweep}' (looked for {sweep}/{SweepReport.JsonFile} and under {root.FullName}); " +
                (known.Count > 0 ? $"sweeps there: {string.Join(", ", known)}." : "none there yet; run `segcluster sweep SPEC` first.");
        return null;
    }

    private static bool HasReport(string folder) => File.Exists(Path.Combine(folder, SweepReport.JsonFile));
}
