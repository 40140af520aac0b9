namespace SegCluster.Vision.Data.Files;

/// <summary>Tells the on-disk formats apart by their characteristic folders and opens the right reader.</summary>
public static class DatasetLayoutDetector
{
    private sealed record Reader(DatasetFormat Format, Func<string, bool> Matches, Func<string, DatasetLayout> Read, string Expects);

    // Detection order: the most specific layouts first (a folder dataset could also hold a VOC tree's names).
    private static readonly Reader[] Readers =
    [
        new(DatasetFormat.Cityscapes, CityscapesReader.Matches, CityscapesReader.Read, "leftImg8bit/ + gtFine/"),
        new(DatasetFormat.Voc, VocReader.Matches, VocReader.Read, "JPEGImages/ + SegmentationClass/ (or VOC2012/ or VOCdevkit/VOC2012/ holding them)"),
        new(DatasetFormat.Ade20k, Ade20kReader.Matches, Ade20kReader.Read, "images/training/ + annotations/training/ (or ADEChallengeData2016/ holding them)"),
        new(DatasetFormat.Folder, FolderDatasetReader.Matches, FolderDatasetReader.Read, $"images/ + masks/ + {FolderDatasetReader.ClassesFile}"),
    ];

    /// <summary>The format of the dataset at <paramref name="root"/>, or null when none matches.</summary>
    public static DatasetFormat? Detect(string root) => Readers.FirstOrDefault(r => r.Matches(root))?.Format;

    /// <summary>Reads the dataset at <paramref name="root"/> as <paramref name="format"/> ("auto" detects it).
    /// Throws naming the path and what the format(s) expect when the layout does not match.</summary>
    public static DatasetLayout Open(string root, string format = DatasetFormats.Auto)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"dataset path '{root}' does not exist or is not a directory.");
        if (format == DatasetFormats.Auto)
        {
            var found = Readers.FirstOrDefault(r => r.Matches(root))
                ?? throw new ArgumentException($"no dataset format recognised at '{root}'. Expected one of: " +
                    string.Join("; ", Readers.Select(r => $"{DatasetFormats.Name(r.Format)} ({r.Expects})")) + ".", nameof(root));
            return found.Read(root);
        }
        var reader = Readers[(int)DatasetFormats.Parse(format)];
        if (!reader.Matches(root))
            throw new ArgumentException($"'{root}' is not a {format} dataset: expected {reader.Expects}.", nameof(root));
        return reader.Read(root);
    }
}
