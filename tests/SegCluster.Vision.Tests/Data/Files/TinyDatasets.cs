using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>
/// Writes tiny datasets in each on-disk layout with real PNG/JPEG files into a temporary folder (deleted on dispose),
/// and remembers what was written so tests can compare the read-back exactly.
/// </summary>
internal sealed class TinyDatasets : IDisposable
{
    public const int H = 12, W = 16;

    public TinyDatasets() => Root = Directory.CreateTempSubdirectory("segcluster-data-").FullName;

    public string Root { get; }

    /// <summary>A smooth image (JPEG keeps it within a few levels); <paramref name="seed"/> shifts the colours.</summary>
    public static byte[] Image(int seed)
    {
        var rgb = new byte[H * W * 3];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int p = 3 * (y * W + x);
                rgb[p] = (byte)(20 + 10 * x + seed * 7);
                rgb[p + 1] = (byte)(30 + 12 * y + seed * 3);
                rgb[p + 2] = (byte)(100 + seed * 11);
            }
        return rgb;
    }

    /// <summary>A mask made of vertical bands, one per value of <paramref name="values"/>.</summary>
    public static byte[] Bands(params byte[] values)
    {
        var mask = new byte[H * W];
        for (int p = 0; p < mask.Length; p++)
            mask[p] = values[(p % W) * values.Length / W];
        return mask;
    }

    public string Dir(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Cityscapes: train/aachen (2 samples), train/bochum (1), val/frankfurt (1); labelIds 7, 26, 0, 33, 255.</summary>
    public static readonly byte[] CityscapesRaw = Bands(7, 26, 0, 33, 255);
    public static readonly byte[] CityscapesTrainIds = Bands(0, 13, 255, 18, 255);

    public string WriteCityscapes()
    {
        var samples = new[] { ("train", "aachen", "aachen_000000_000019"), ("train", "aachen", "aachen_000001_000019"),
            ("train", "bochum", "bochum_000000_000313"), ("val", "frankfurt", "frankfurt_000000_000294") };
        int seed = 0;
        foreach (var (split, city, stem) in samples)
        {
            ImageFileWriter.Rgb(Dir("leftImg8bit", split, city, stem + "_leftImg8bit.png"), Image(seed++), H, W);
            ImageFileWriter.Gray(Dir("gtFine", split, city, stem + "_gtFine_labelIds.png"), CityscapesRaw, H, W);
            // the other gtFine files a real download holds must not confuse the reader
            ImageFileWriter.Gray(Dir("gtFine", split, city, stem + "_gtFine_instanceIds.png"), CityscapesRaw, H, W);
        }
        return Root;
    }

    /// <summary>VOC2012 inside VOCdevkit: train (2), val (1) with palette masks 0, 15, 255; train_aug (3) with grey
    /// masks 0, 8; scribbles for 2007_000032.</summary>
    public static readonly byte[] VocPaletteIndices = Bands(0, 15, 255, 12);
    public static readonly byte[] VocAugIds = Bands(0, 8);
    public static readonly byte[] VocScribble = Bands(255, 15, 255);

    public string WriteVoc()
    {
        var voc = Dir("VOCdevkit", "VOC2012");
        string[] ids = ["2007_000032", "2007_000039", "2007_000063", "2008_000002"];
        for (int i = 0; i < ids.Length; i++)
        {
            ImageFileWriter.Rgb(Path.Combine(voc, "JPEGImages", ids[i] + ".jpg"), Image(i), H, W);
            ImageFileWriter.VocPalettePng(Path.Combine(voc, "SegmentationClass", ids[i] + ".png"), VocPaletteIndices, H, W);
            ImageFileWriter.Gray(Path.Combine(voc, "SegmentationClassAug", ids[i] + ".png"), VocAugIds, H, W);
        }
        Directory.CreateDirectory(Path.Combine(voc, "ImageSets", "Segmentation"));
        File.WriteAllLines(Path.Combine(voc, "ImageSets", "Segmentation", "train.txt"), [ids[0], ids[1]]);
        File.WriteAllLines(Path.Combine(voc, "ImageSets", "Segmentation", "val.txt"), [ids[2]]);
        File.WriteAllLines(Path.Combine(voc, "ImageSets", "Segmentation", "train_aug.txt"), [ids[0], ids[1], ids[3]]);
        ImageFileWriter.Gray(Path.Combine(voc, "pascal_2012_scribble", ids[0] + ".png"), VocScribble, H, W);
        SegCluster.Tests.Shared.ScribbleSupXml.Write(Path.Combine(voc, "pascal_2012_scribble", ids[0] + ".xml"), W, H, ("dog", [(0, 0)]));  // the PNG wins
        SegCluster.Tests.Shared.ScribbleSupXml.Write(Path.Combine(voc, "scribble_annotation", "pascal_2012", ids[1] + ".xml"), W, H, VocScribbleStrokes);
        return Dir("VOCdevkit");
    }

    /// <summary>ScribbleSup's XML for 2007_000039: a person stroke on row 2, a background stroke on column 0.</summary>
    public static readonly (string Tag, (int X, int Y)[] Points)[] VocScribbleStrokes = [("person", [(2, 2), (9, 2)]), ("background", [(0, 0), (0, H - 1)])];

    /// <summary>The mask <see cref="VocScribbleStrokes"/> rasterise to.</summary>
    public static byte[] VocScribbleStrokesMask()
    {
        var mask = Enumerable.Repeat((byte)255, H * W).ToArray();
        for (int y = 0; y < H; y++) mask[y * W] = 0;
        for (int x = 2; x <= 9; x++) mask[2 * W + x] = 15;
        return mask;
    }

    /// <summary>ADEChallengeData2016: training (2), validation (1); raw 0, 1, 150, 75 → 255, 0, 149, 74.</summary>
    public static readonly byte[] AdeRaw = Bands(0, 1, 150, 75);
    public static readonly byte[] AdeTrainIds = Bands(255, 0, 149, 74);

    public string WriteAde20k()
    {
        var ade = Dir("ADEChallengeData2016");
        foreach (var (folder, stem, seed) in new[] { ("training", "ADE_train_00000001", 0), ("training", "ADE_train_00000002", 1), ("validation", "ADE_val_00000001", 2) })
        {
            ImageFileWriter.Rgb(Path.Combine(ade, "images", folder, stem + ".jpg"), Image(seed), H, W);
            ImageFileWriter.Gray(Path.Combine(ade, "annotations", folder, stem + ".png"), AdeRaw, H, W);
        }
        return Root;
    }

    /// <summary>Folder format, flat: 3 classes, samples a.png, b.jpg, c.png with masks 0, 1, 2, 255.</summary>
    public static readonly byte[] FolderMask = Bands(0, 1, 2, 255);

    public string WriteFolder(string sub = "folder")
    {
        var root = Dir(sub);
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, FolderDatasetReader.ClassesFile), """["background", "cat", "dog"]""");
        foreach (var (stem, ext, seed) in new[] { ("a", ".png", 0), ("b", ".jpg", 1), ("c", ".png", 2) })
        {
            ImageFileWriter.Rgb(Path.Combine(root, "images", stem + ext), Image(seed), H, W);
            ImageFileWriter.Gray(Path.Combine(root, "masks", stem + ".png"), FolderMask, H, W);
        }
        return root;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
