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

    /// <summary>
    /// The image ids of a list file (VOC ImageSets): the first token of each non-empty line. That is an id
    /// ("2007_000032"), or, in DeepLab's train_aug.txt, an image path ("/JPEGImages/2007_000032.jpg
    /// /SegmentationClassAug/2007_000032.png") whose file name without its extension is the id.
    /// </summary>
    public static IReadOnlyList<string> ListFileIds(string path) =>
        File.ReadAllLines(path)
            .Select(line => line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries))
            .Where(tokens => tokens.Length > 0)
            .Select(tokens => IsPath(tokens[0]) ? Path.GetFileNameWithoutExtension(tokens[0].Replace('\\', '/')) : tokens[0])
            .ToList();

    private static bool IsPath(string token) =>
        token.Contains('/') || token.Contains('\\') || ImageExtensions.Contains(Path.GetExtension(token).ToLowerInvariant());
}
