namespace SegCluster.Vision.Data.Files;

/// <summary>On-disk dataset layouts the readers understand (<see cref="DatasetLayoutDetector"/> tells them apart).</summary>
public enum DatasetFormat
{
    /// <summary>leftImg8bit/{split}/{city}/*_leftImg8bit.png + gtFine/{split}/{city}/*_gtFine_labelIds.png.</summary>
    Cityscapes,
    /// <summary>PASCAL VOC 2012: JPEGImages/, SegmentationClass/ (palette PNG), ImageSets/Segmentation/*.txt.</summary>
    Voc,
    /// <summary>ADE20K (ADEChallengeData2016): images/{training,validation}/*.jpg + annotations/.../*.png.</summary>
    Ade20k,
    /// <summary>Generic: images/, masks/ (grey PNG of class ids, 255 = ignore), classes.json.</summary>
    Folder,
}

/// <summary>Names of <see cref="DatasetFormat"/> as users type them (spec, CLI).</summary>
public static class DatasetFormats
{
    public const string Auto = "auto";

    public static IReadOnlyList<string> Names { get; } = ["cityscapes", "voc", "ade20k", "folder"];

    public static string Name(DatasetFormat format) => Names[(int)format];

    /// <summary>Parses a format name; throws naming the valid choices.</summary>
    public static DatasetFormat Parse(string name)
    {
        var i = Names.ToList().IndexOf(name.ToLowerInvariant());
        if (i < 0)
            throw new ArgumentException($"dataset format '{name}' is unknown; use one of {Auto}, {string.Join(", ", Names)}.", nameof(name));
        return (DatasetFormat)i;
    }
}
