namespace SegCluster.Vision.Data.Files;

/// <summary>
/// Cityscapes: leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png with gtFine/{split}/{city}/{stem}_gtFine_labelIds.png.
/// labelIds (0..33) map to the 19 train ids of cityscapesScripts' labels.py; every other id, and 255 (what the
/// license plate's id -1 becomes in an 8-bit PNG), is ignore. Values above 33 are errors.
/// </summary>
public static class CityscapesReader
{
    public static IReadOnlyList<string> ClassNames { get; } =
    [
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
        "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    ];

    /// <summary>labelId → trainId (labels.py), in train-id order.</summary>
    public static IReadOnlyDictionary<int, int> LabelIdToTrainId { get; } = new[]
    {
        7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33,
    }.Select((labelId, trainId) => (labelId, trainId)).ToDictionary(p => p.labelId, p => p.trainId);

    /// <summary>trainId → labelId, the inverse of <see cref="LabelIdToTrainId"/> (the evaluation server's format).</summary>
    public static IReadOnlyDictionary<int, int> TrainIdToLabelId { get; } = LabelIdToTrainId.ToDictionary(p => p.Value, p => p.Key);

    /// <summary>labelId 0 ("unlabeled"): what ignore (255) becomes in a label-id image.</summary>
    public const int UnlabeledLabelId = 0;

    /// <summary>Train ids (0..18, 255 = ignore) → Cityscapes label ids, for results in the evaluation server's format.</summary>
    /// <exception cref="ArgumentException">A value is neither a train id nor 255.</exception>
    public static byte[] ToLabelIds(byte[] trainIds)
    {
        var labelIds = new byte[trainIds.Length];
        for (int p = 0; p < trainIds.Length; p++)
        {
            if (trainIds[p] == SegmentationSample.IgnoreLabel) labelIds[p] = UnlabeledLabelId;
            else if (TrainIdToLabelId.TryGetValue(trainIds[p], out var id)) labelIds[p] = (byte)id;
            else throw new ArgumentException($"value {trainIds[p]} at pixel {p} is not a Cityscapes train id (0..{ClassNames.Count - 1} or 255).", nameof(trainIds));
        }
        return labelIds;
    }

    public const int MaxLabelId = 33;

    public static bool Matches(string root) =>
        Directory.Exists(Path.Combine(root, "leftImg8bit")) && Directory.Exists(Path.Combine(root, "gtFine"));

    public static DatasetLayout Read(string root)
    {
        var images = Path.Combine(root, "leftImg8bit");
        var splits = new Dictionary<string, IReadOnlyList<SampleFiles>>();
        foreach (var split in DatasetDirectory.Subdirectories(images))
        {
            var samples = new List<SampleFiles>();
            foreach (var image in DatasetDirectory.Images(Path.Combine(images, split), recursive: true))
            {
                var name = Path.GetFileName(image);
                if (!name.EndsWith("_leftImg8bit.png", StringComparison.Ordinal)) continue;
                var stem = name[..^"_leftImg8bit.png".Length];
                var city = Path.GetFileName(Path.GetDirectoryName(image))!;
                var mask = Path.Combine(root, "gtFine", split, city, stem + "_gtFine_labelIds.png");
                samples.Add(new SampleFiles(stem, image, mask, MaskEncoding.Gray));
            }
            splits[split] = samples;
        }
        var mapping = LabelMapping.FromTable(MaxLabelId, LabelIdToTrainId,
            $"labelIds 0..{MaxLabelId} → 19 train ids (others ignore), 255 = ignore");
        return new DatasetLayout(DatasetFormat.Cityscapes, root, ClassNames, mapping, splits);
    }
}
