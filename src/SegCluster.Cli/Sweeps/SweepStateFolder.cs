using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegCluster.Cli.Sweeps;

/// <summary>
/// Where an embedded sweep keeps what `segcluster sweep --resume` needs: <c>{report folder}/state/</c> holds the node's
/// grain state (Node:StateDirectory: the sweep's record and every trial's result, in files) and <c>sweep.json</c>, the
/// sweep id and the embedded cluster it ran on (its workers are named in the record, so a resume starts the same).
/// </summary>
public sealed record SweepStateFolder
{
    public const string FolderName = "state";
    public const string ManifestFile = "sweep.json";
    private const string GrainsFolderName = "grains";
    private const string LockFile = ".lock";

    [JsonPropertyName("sweep")] public required string SweepId { get; init; }
    [JsonPropertyName("workers")] public required int Workers { get; init; }
    [JsonPropertyName("device")] public required string Device { get; init; }

    /// <summary>The sweep's report folder (the state folder's parent).</summary>
    [JsonIgnore] public DirectoryInfo ReportFolder { get; private init; } = null!;

    /// <summary>Node:StateDirectory for the embedded node that runs this sweep.</summary>
    [JsonIgnore] public string GrainsFolder => Path.Combine(ReportFolder.FullName, FolderName, GrainsFolderName);

    /// <summary>Creates the state folder of a new sweep under <paramref name="reportFolder"/> and writes its manifest.</summary>
    public static SweepStateFolder Create(DirectoryInfo reportFolder, string sweepId, int workers, string device)
    {
        var state = new SweepStateFolder { SweepId = sweepId, Workers = workers, Device = device, ReportFolder = reportFolder };
        var folder = Directory.CreateDirectory(Path.Combine(reportFolder.FullName, FolderName));
        File.WriteAllText(Path.Combine(folder.FullName, ManifestFile), JsonSerializer.Serialize(state, Indented));
        return state;
    }

    /// <summary>Holds the sweep for this process until disposed (a lock file in the state folder): a second `sweep --resume`
    /// of a sweep that runs is refused before it starts a cluster. Tries for up to two seconds (`results` looks at the lock
    /// for a moment); null, with the reason in <paramref name="error"/>, when another process holds it or it cannot be written.</summary>
    public IDisposable? TryLock(out string error)
    {
        var path = LockPath;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                error = "";
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (attempt < 20)
            {
                error = e.Message;
                Thread.Sleep(100);
            }
            catch (IOException e)
            {
                error = $"sweep {SweepId} is being run by another segcluster process ({path} is locked: {e.Message}).";
                return null;
            }
            catch (UnauthorizedAccessException e)
            {
                error = $"sweep {SweepId}'s state folder cannot be written here ({path}: {e.Message}).";
                return null;
            }
        }
    }

    /// <summary>Whether a process holds the sweep (runs it now); null when that cannot be told (the lock file cannot be
    /// read). Looks without writing: the lock file is opened read-only and only if it exists.</summary>
    public bool? IsHeld()
    {
        try
        {
            using var probe = new FileStream(LockPath, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (UnauthorizedAccessException) { return null; }
        catch (IOException) { return true; }
    }

    private string LockPath => Path.Combine(ReportFolder.FullName, FolderName, LockFile);

    /// <summary>Whether <paramref name="reportFolder"/> holds a sweep that can be resumed.</summary>
    public static bool Exists(string reportFolder) => File.Exists(Path.Combine(reportFolder, FolderName, ManifestFile));

    /// <summary>The state of the sweep in <paramref name="reportFolder"/>; null with the problem in <paramref name="error"/>.</summary>
    public static SweepStateFolder? Read(DirectoryInfo reportFolder, out string error)
    {
        var manifest = Path.Combine(reportFolder.FullName, FolderName, ManifestFile);
        error = "";
        try
        {
            var state = JsonSerializer.Deserialize<SweepStateFolder>(File.ReadAllText(manifest));
            if (state is { Workers: >= 1, SweepId.Length: > 0, Device.Length: > 0 }) return state with { ReportFolder = reportFolder };
            error = $"{manifest} does not name the sweep, its device and a positive worker count; it was not written by `segcluster sweep`.";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            error = $"{manifest} cannot be read: {e.Message}";
        }
        return null;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
