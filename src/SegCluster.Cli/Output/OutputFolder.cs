using System.Text;
using SegCluster.Vision.IO;

namespace SegCluster.Cli.Output;

/// <summary>
/// The --out folder (or file) of a command that writes its results after a long run (train, quickstart, sweep, spectral-sweep,
/// spectral, eval, predict):
/// checked before its cluster starts, so a folder that cannot be written is named up front rather than after the run,
/// and a write that fails anyway is named with the folder rather than a stack trace.
/// </summary>
public static class OutputFolder
{
    /// <summary>Creates <paramref name="folder"/> and writes and deletes a file in it; on failure writes the problem to stderr.</summary>
    public static bool IsWritable(DirectoryInfo folder) => IsWritable(folder, "--out", folder.FullName, "a folder");

    /// <summary>The <paramref name="option"/> of a single file (eval's report, results' exports): not a folder, and its folder
    /// writable as <see cref="IsWritable(DirectoryInfo)"/> checks; on failure writes the problem to stderr.</summary>
    /// <param name="example">A file name the option takes, suggested in the folder given (results.csv for --csv).</param>
    public static bool IsWritableFile(FileInfo file, string option = "--out", string example = "report.json")
    {
        if (Directory.Exists(file.FullName))
        {
            Console.Error.WriteLine($"error: {option} '{file.FullName}' is a folder; give a file, e.g. {option} {Path.Combine(file.FullName, example)}.");
            return false;
        }
        return IsWritable(file.Directory!, option, file.FullName, "a file in a folder");
    }

    /// <param name="option">The option that named it.</param>
    /// <param name="named">Its value as the user gave it, for the message.</param>
    /// <param name="choose">What to choose instead, in words.</param>
    private static bool IsWritable(DirectoryInfo folder, string option, string named, string choose)
    {
        try
        {
            folder.Create();
            var probe = Path.Combine(folder.FullName, $".segcluster-write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {option} '{named}' cannot be written ({e.Message}); choose {choose} you can write to.");
            return false;
        }
    }

    /// <summary>Runs the final <paramref name="write"/> of the results; on failure names the folder on stderr (the run's
    /// results were printed above) and returns false.</summary>
    public static async Task<bool> TryWriteAsync(string folder, Func<Task> write)
    {
        try
        {
            await write();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: the results could not be written to '{folder}' ({e.Message}); the results are the table above.");
            return false;
        }
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/> through <see cref="DurableFile"/>: a reader (or
    /// a process killed mid-write) sees the old file or the new one, never half of one.</summary>
    public static Task WriteAtomicallyAsync(string path, string text, CancellationToken cancellationToken) =>
        DurableFile.ReplaceAsync(path, Encoding.UTF8.GetBytes(text), cancellationToken: cancellationToken);
}
