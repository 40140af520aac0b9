namespace SegCluster.Vision.Data.Files;

/// <summary>
/// PASCAL VOC 2012 (root = VOC2012, or a VOCdevkit holding it). Splits come from ImageSets/Segmentation/*.txt with
/// masks in SegmentationClass/ (palette PNG: the palette index is the class, 255 = the ignore border). When
/// SegmentationClassAug/ (grey PNGs, the SBD-augmented set) and a train_aug.txt (in ImageSets/Segmentation/ or the
/// root) are present, split "train_aug" uses them. Split "train_scribble" lists every image with ScribbleSup scribbles
/// that is not in the val list:
/// grey PNGs in pascal_2012_scribble/ (rasterised: class on the scribble, 255 elsewhere), or ScribbleSup's own XML
/// files there or in scribble_annotation/pascal_2012/ (<see cref="ScribbleSupAnnotation"/>); a PNG wins over an XML
/// of the same image.
/// </summary>
public static class VocReader
{
    public static IReadOnlyList<string> ClassNames { get; } =
    [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    public const string AugmentedSplit = "train_aug";
    public const string ScribbleSplit = "train_scribble";

    public static bool Matches(string root) => Resolve(root) is not null;

    public static DatasetLayout Read(string root)
    {
        var voc = Resolve(root) ?? throw new ArgumentException($"{root} is not a PASCAL VOC 2012 folder (JPEGImages/ and SegmentationClass/ expected).", nameof(root));
        var images = Path.Combine(voc, "JPEGImages");
        var lists = Path.Combine(voc, "ImageSets", "Segmentation");
        var splits = new Dictionary<string, IReadOnlyList<SampleFiles>>();
        SampleFiles Sample(string id, string maskDir, MaskEncoding encoding) =>
            new(id, Path.Combine(images, id + ".jpg"), Path.Combine(voc, maskDir, id + ".png"), encoding);
        SampleFiles Scribbled(string file)
        {
            var id = Path.GetFileNameWithoutExtension(file);
            var encoding = file.EndsWith(".xml", StringComparison.OrdinalIgnoreCase) ? MaskEncoding.ScribbleSupXml : MaskEncoding.Gray;
            return new(id, Path.Combine(images, id + ".jpg"), file, encoding);
        }

        if (Directory.Exists(lists))
            foreach (var list in Directory.EnumerateFiles(lists, "*.txt").Order(StringComparer.Ordinal))
            {
                var split = Path.GetFileNameWithoutExtension(list);
                if (split == AugmentedSplit) continue;
                splits[split] = DatasetDirectory.ListFileIds(list).Select(id => Sample(id, "SegmentationClass", MaskEncoding.VocPalette)).ToList();
            }

        var augList = new[] { Path.Combine(lists, AugmentedSplit + ".txt"), Path.Combine(voc, AugmentedSplit + ".txt") }.FirstOrDefault(File.Exists);
        if (augList is not null && Directory.Exists(Path.Combine(voc, "SegmentationClassAug")))
            splits[AugmentedSplit] = DatasetDirectory.ListFileIds(augList).Select(id => Sample(id, "SegmentationClassAug", MaskEncoding.Gray)).ToList();

        // ScribbleSup annotates VOC's val images too (1,449 of its 12,031): they are left out, or a run trained on
        // train_scribble would be scored on val images it trained on.
        var validation = splits.TryGetValue("val", out var val) ? val.Select(s => s.Id).ToHashSet(StringComparer.Ordinal) : [];
        var scribbles = ScribbleFiles(voc).Where(file => !validation.Contains(Path.GetFileNameWithoutExtension(file))).ToList();
        if (scribbles.Count > 0)
            splits[ScribbleSplit] = scribbles.Select(Scribbled).ToList();

        return new DatasetLayout(DatasetFormat.Voc, voc, ClassNames, LabelMapping.Identity(ClassNames.Count), splits);
    }

    /// <summary>One scribble file per image id, in id order: the rasterised PNG where there is one, else the XML.</summary>
    private static List<string> ScribbleFiles(string voc)
    {
        var byId = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in new[] { Path.Combine(voc, "scribble_annotation", "pascal_2012"), Path.Combine(voc, "pascal_2012_scribble") })
            if (Directory.Exists(folder))
                foreach (var xml in Directory.EnumerateFiles(folder, "*.xml"))
                    byId[Path.GetFileNameWithoutExtension(xml)] = xml;
        var rasterised = Path.Combine(voc, "pascal_2012_scribble");
        if (Directory.Exists(rasterised))
            foreach (var png in DatasetDirectory.Images(rasterised))
                byId[Path.GetFileNameWithoutExtension(png)] = png;
        return [.. byId.Values];
    }

    /// <summary>The VOC2012 folder itself: <paramref name="root"/>, root/VOC2012 or root/VOCdevkit/VOC2012.</summary>
    private static string? Resolve(string root) =>
        new[] { root, Path.Combine(root, "VOC2012"), Path.Combine(root, "VOCdevkit", "VOC2012") }.FirstOrDefault(d =>
            Directory.Exists(Path.Combine(d, "JPEGImages"))
            && (Directory.Exists(Path.Combine(d, "SegmentationClass")) || Directory.Exists(Path.Combine(d, "SegmentationClassAug"))));
}
