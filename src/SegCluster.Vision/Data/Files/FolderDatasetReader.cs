using System.Text.Json;

namespace SegCluster.Vision.Data.Files;

/// <summary>
/// The generic layout for users' own data: images/ (PNG or JPEG), masks/ (grey PNG with the image's stem: values
/// 0..K-1 are classes, 255 = ignore) and classes.json (a JSON array of the K class names, index = class id).
/// Either images/ holds the files directly (one split, "train"), or one sub-folder per split (images/train/,
/// images/val/ with masks/train/, masks/val/).
/// </summary>
public static class FolderDatasetReader
{
    public const string ClassesFile = "classes.json";
    public const string DefaultSplit = "train";

    public static bool Matches(string root) =>
        Directory.Exists(Path.Combine(root, "images")) && Directory.Exists(Path.Combine(root, "masks")) && File.Exists(Path.Combine(root, ClassesFile));

    public static DatasetLayout Read(string root)
    {
        var names = ReadClasses(Path.Combine(root, ClassesFile));
        var images = Path.Combine(root, "images");
        var splits = new Dictionary<string, IReadOnlyList<SampleFiles>>();
        var subfolders = DatasetDirectory.Subdirectories(images).ToList();
        if (subfolders.Count == 0)
            splits[DefaultSplit] = Samples(images, Path.Combine(root, "masks"));
        foreach (var split in subfolders)
            splits[split] = Samples(Path.Combine(images, split), Path.Combine(root, "masks", split));
        return new DatasetLayout(DatasetFormat.Folder, root, names, LabelMapping.Identity(names.Count), splits);
    }

    private static List<SampleFiles> Samples(string images, string masks) =>
        DatasetDirectory.Images(images).Select(image =>
        {
            var stem = Path.GetFileNameWithoutExtension(image);
            return new SampleFiles(stem, image, Path.Combine(masks, stem + ".png"), MaskEncoding.Gray);
        }).ToList();

    private static List<string> ReadClasses(string path)
    {
        List<string>? names;
        try
        {
            names = JsonSerializer.Deserialize<List<string>>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DatasetFileException(path, $"not a JSON array of class names ({e.Message}); write e.g. [\"background\", \"road\"].", e);
        }
        if (names is null || names.Count < 2 || names.Count > SegmentationSample.IgnoreLabel)
            throw new DatasetFileException(path, $"must list 2 to {SegmentationSample.IgnoreLabel} class names (found {names?.Count ?? 0}); mask value 255 is reserved for ignore.");
        if (names.Any(string.IsNullOrWhiteSpace))
            throw new DatasetFileException(path, "a class name is empty.");
        return names;
    }
}
