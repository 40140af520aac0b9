using System.Collections.Concurrent;
using System.Security.Cryptography;
using Orleans.Storage;
using SegCluster.Vision.IO;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Grain state in files, for a node without Redis that must keep its state across restarts (a sweep resumed after its
/// process ended: `segcluster sweep --resume`). One file a grain state, <c>{folder}/{grain type}.{state}/{key}</c>, written
/// with the Orleans serializer (as <see cref="ClusterRedisStorage"/>) through <see cref="DurableFile"/> (a temporary file, flushed
/// to disk, renamed over the old one, the folder flushed), so a crash leaves the previous record or the new one, never half of one. The ETag is the content's hash.
/// A folder belongs to one process: it holds an exclusive lock file while the node runs, and a second node gets an error
/// naming it instead of overwriting the first's records.
/// </summary>
public sealed class FileGrainStorage : IGrainStorage, IDisposable
{
    private const string LockFile = ".lock";
    // '#' never appears in an escaped name (Uri.EscapeDataString writes %23): no key's file is a temporary or a hashed name.
    public const string TemporarySuffix = "#tmp";

    private readonly string _folder;
    private readonly IGrainStorageSerializer _serializer;
    private readonly FileStream _lock;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _writes = new();

    public FileGrainStorage(string folder, IGrainStorageSerializer serializer)
    {
        _folder = Path.GetFullPath(folder);
        _serializer = serializer;
        Directory.CreateDirectory(_folder);
        try
        {
            _lock = new FileStream(Path.Combine(_folder, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"The grain state folder {_folder} could not be locked ({LockFile}: {e.Message}); it is in use by another SegCluster " +
                "process, or not writable. One node at a time may keep its state there.", e);
        }
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            (grainState.State, grainState.ETag, grainState.RecordExists) = (Activator.CreateInstance<T>(), null, false);
            return;
        }
        var bytes = await File.ReadAllBytesAsync(path);
        try
        {
            grainState.State = _serializer.Deserialize<T>(new BinaryData(bytes));
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"The grain state file {path} could not be read as {typeof(T).Name}: {e.Message}", e);
        }
        (grainState.ETag, grainState.RecordExists) = (ETagOf(bytes), true);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var bytes = _serializer.Serialize(grainState.State).ToArray();
        await WithFileAsync(path, async () =>
        {
            await CheckETagAsync(path, grainState.ETag);
            await DurableFile.ReplaceAsync(path, bytes, TemporarySuffix);
        });
        (grainState.ETag, grainState.RecordExists) = (ETagOf(bytes), true);
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        await WithFileAsync(path, async () =>
        {
            await CheckETagAsync(path, grainState.ETag);
            File.Delete(path);
        });
        (grainState.State, grainState.ETag, grainState.RecordExists) = (Activator.CreateInstance<T>(), null, false);
    }

    public void Dispose() => _lock.Dispose();

    private async Task WithFileAsync(string path, Func<Task> action)
    {
        var gate = _writes.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            await action();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Optimistic concurrency as every Orleans provider: a write whose ETag is not the stored record's is refused.</summary>
    private static async Task CheckETagAsync(string path, string? expected)
    {
        var stored = File.Exists(path) ? ETagOf(await File.ReadAllBytesAsync(path)) : null;
        if (stored != expected)
            throw new InconsistentStateException($"The grain state file {path} changed since it was read (stored ETag {stored ?? "none"}, expected {expected ?? "none"}).", stored, expected);
    }

    private string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(_folder, FileName($"{grainId.Type}.{stateName}"), FileName(grainId.Key.ToString()!));

    /// <summary>A name that is one path segment on every file system: '/', '#', ':' and the like escaped; '.' and '..' too.</summary>
    private static string FileName(string name)
    {
        var escaped = Uri.EscapeDataString(name);
        if (escaped is "." or "..") escaped = escaped.Replace(".", "%2E");
        // File names stop at 255 bytes: a longer key keeps a readable prefix and the hash of the whole.
        return escaped.Length <= 200 ? escaped : $"{escaped[..120]}#{Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..32]}";
    }

    private static string ETagOf(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes))[..16];
}
