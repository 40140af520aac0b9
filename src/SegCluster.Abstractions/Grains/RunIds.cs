namespace SegCluster.Abstractions.Grains;

/// <summary>
/// What an experiment or sweep id may be. An experiment's id names its checkpoint folder under the node's checkpoint
/// directory, and a sweep nests its trials' runs under its own id ("{sweep}/{trial}/a{attempt}"), so '/' separates
/// folders; a segment that is empty, "." or ".." would leave that directory or collide, so it is refused, as are '\',
/// control characters and '#' (which separates the id from the attempt in a ring's id).
/// </summary>
public static class RunIds
{
    public const int MaxLength = 200;

    /// <summary>The default id of a run of <paramref name="name"/>: "{name}-{yyyyMMdd-HHmmss-fff}" (UTC, milliseconds), so a
    /// name's runs sort by start time (SweepFolders takes the last as the latest) and a shell loop of `train --detach`
    /// submits distinct ids (whole seconds collided from the second submission). Within a process the ids strictly
    /// increase, however close together they are asked for.</summary>
    public static string Timestamped(string name)
    {
        long issued, next;
        do
        {
            issued = Interlocked.Read(ref lastMilliseconds);
            next = Math.Max(DateTime.UtcNow.Ticks / TimeSpan.TicksPerMillisecond, issued + 1);
        }
        while (Interlocked.CompareExchange(ref lastMilliseconds, next, issued) != issued);
        var time = new DateTime(next * TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        return $"{name}-{time.ToString(TimestampFormats[0], System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>Whether <paramref name="id"/> is a <see cref="Timestamped"/> run of <paramref name="name"/> (not of "name-other"),
    /// in the current format or the whole-second one of earlier versions (report folders they wrote).</summary>
    public static bool IsTimestampedRunOf(string name, string id) =>
        id.StartsWith(name + "-", StringComparison.Ordinal) &&
        DateTime.TryParseExact(id[(name.Length + 1)..], TimestampFormats, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out _);

    private static readonly string[] TimestampFormats = ["yyyyMMdd-HHmmss-fff", "yyyyMMdd-HHmmss"];
    private static long lastMilliseconds;

    /// <summary>Why <paramref name="id"/> cannot name a run, or null when it can.</summary>
    /// <param name="what">How the message names the id ("experiment id", "--id", "sweep name").</param>
    public static string? Problem(string? id, string what = "experiment id")
    {
        if (string.IsNullOrWhiteSpace(id)) return $"{what} must not be empty.";
        if (id.Length > MaxLength) return $"{what} '{id[..20]}...' has {id.Length} characters; use at most {MaxLength}.";
        if (id.Contains('#') || id.Contains('\\') || id.Any(char.IsControl))
            return $"{what} '{id}' must not contain '#', '\\' or control characters.";
        if (id.Split('/').Any(segment => segment.Trim() is "" or "." or ".."))
            return $"{what} '{id}' has an empty, '.' or '..' part between slashes; it names a folder under the checkpoint directory.";
        return null;
    }
}
