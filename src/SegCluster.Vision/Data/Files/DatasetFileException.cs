namespace SegCluster.Vision.Data.Files;

/// <summary>A file of a dataset cannot be used: missing, undecodable, or with label values the format does not allow.
/// The message names the file; <see cref="Path"/> carries it for reports.</summary>
public sealed class DatasetFileException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
}
