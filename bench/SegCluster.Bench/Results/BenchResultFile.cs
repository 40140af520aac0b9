using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegCluster.Bench.Results;

/// <summary>Writes a benchmark's result document (snake_case JSON) under bench/results/, with the machine it ran on.</summary>
internal static class BenchResultFile
{
    /// <summary><see cref="BenchJson.Options"/> (the bench project's one convention), null fields left out.</summary>
    public static readonly JsonSerializerOptions Json = new(BenchJson.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The same naming on one line, for results passed between processes on stdout.</summary>
    public static readonly JsonSerializerOptions OneLine = new(Json) { WriteIndented = false };

    public static async Task<string> WriteAsync<T>(string path, T result)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var document = new { Machine = MachineInfo.Current, Result = result };
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(document, Json));
        File.Move(temporary, path, overwrite: true);
        return Path.GetFullPath(path);
    }
}
