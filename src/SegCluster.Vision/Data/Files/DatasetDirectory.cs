namespace SegCluster.Vision.Data.Files;

/// <summary>File-system walks the readers share: sorted, so sample order never depends on the directory's order.</summary>
public static class DatasetDirectory
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Image files directly in <paramref name="dir"/> (or below it when <paramref name="recursive"/>), ordinal by path.</summary>
    public static IEnumerable<string> Images(string dir, bool recursive = false) =>
        Directory.EnumerateFiles(dir, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal);

    /// <summary>Sub-directory names of <paramref name="dir"/>, ordinal.</summary>
    public static IEnumerable<string> Subdirectories(string dir) =>
        Directory.EnumerateDirectories(dir).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal);

    /// <summary>Non-empty lines of a list file (VOC ImageSets), trimmed.</summary>
    public static IReadOnlyList<string> ListFile(string path) =>
        File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]).ToList();
}
