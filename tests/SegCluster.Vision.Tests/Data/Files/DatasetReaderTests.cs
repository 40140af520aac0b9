using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>Each on-disk format, written with real PNG/JPEG files, is detected and read back exactly (masks, PNG images)
/// or within JPEG's loss (JPEG images).</summary>
public sealed class DatasetReaderTests : IDisposable
{
    private readonly TinyDatasets _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void Cityscapes_labelIds_map_to_the_19_train_ids_and_everything_else_is_ignore()
    {
        var root = _data.WriteCityscapes();
        Assert.Equal(DatasetFormat.Cityscapes, DatasetLayoutDetector.Detect(root));
        var layout = DatasetLayoutDetector.Open(root);
        Assert.Equal(19, layout.NumClasses);
        Assert.Equal(3, layout.Split("train").Count);
        Assert.Single(layout.Split("val"));
        Assert.Equal(["aachen_000000_000019", "aachen_000001_000019", "bochum_000000_000313"], layout.Split("train").Select(s => s.Id));

        var train = new FileSegmentationDataset(layout, "train");
        for (int i = 0; i < train.Count; i++)
        {
            var sample = train.Decode(i);
            Assert.Equal((TinyDatasets.H, TinyDatasets.W), (sample.Height, sample.Width));
            Assert.Equal(TinyDatasets.CityscapesTrainIds, sample.Label);
            Assert.Equal(TinyDatasets.Image(i), sample.Rgb);  // PNG: exact
        }
    }

    [Fact]
    public void Voc_reads_deeplabs_train_aug_list_of_image_and_mask_paths()
    {
        var root = _data.WriteVoc();
        // DeepLab's (and mmsegmentation's conversion's) train_aug.txt: image path and mask path per line, tab or space.
        File.WriteAllLines(Path.Combine(root, "VOC2012", "ImageSets", "Segmentation", "train_aug.txt"),
            ["/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png", "JPEGImages/2008_000002.jpg\tSegmentationClassAug/2008_000002.png", "2007_000039"]);

        var aug = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), VocReader.AugmentedSplit);

        Assert.Equal(["2007_000032", "2008_000002", "2007_000039"], Enumerable.Range(0, aug.Count).Select(i => aug.Files(i).Id));
        Assert.All(Enumerable.Range(0, aug.Count), i => Assert.True(File.Exists(aug.Files(i).ImagePath), aug.Files(i).ImagePath));
        Assert.Equal(TinyDatasets.VocAugIds, aug.Decode(1).Label);
    }

    [Fact]
    public void Voc_reads_palette_masks_the_augmented_list_and_scribbles_as_png_or_xml()
    {
        var root = _data.WriteVoc();
        // ScribbleSup also annotates val images: one of val.txt's must stay out of train_scribble.
        ImageFileWriter.Gray(Path.Combine(root, "VOC2012", "pascal_2012_scribble", "2007_000063.png"), TinyDatasets.VocScribble, TinyDatasets.H, TinyDatasets.W);
        Assert.Equal(DatasetFormat.Voc, DatasetLayoutDetector.Detect(root));
        var layout = DatasetLayoutDetector.Open(root);
        Assert.Equal(21, layout.NumClasses);
        Assert.Equal("person", layout.ClassNames[15]);
        Assert.Equal(["train", "val", VocReader.AugmentedSplit, VocReader.ScribbleSplit], layout.Splits.Keys);

        var train = new FileSegmentationDataset(layout, "train");
        Assert.Equal(2, train.Count);
        var first = train.Decode(0);
        Assert.Equal(TinyDatasets.VocPaletteIndices, first.Label);  // palette index = class, 255 border = ignore
        AssertCloseToJpeg(TinyDatasets.Image(0), first.Rgb);

        var aug = new FileSegmentationDataset(layout, VocReader.AugmentedSplit);
        Assert.Equal(["2007_000032", "2007_000039", "2008_000002"], Enumerable.Range(0, aug.Count).Select(i => aug.Files(i).Id));
        Assert.Equal(TinyDatasets.VocAugIds, aug.Decode(2).Label);

        var scribbles = new FileSegmentationDataset(layout, VocReader.ScribbleSplit);
        Assert.Equal(["2007_000032", "2007_000039"], Enumerable.Range(0, scribbles.Count).Select(i => scribbles.Files(i).Id));
        Assert.Equal(TinyDatasets.VocScribble, scribbles.Decode(0).Label);                    // the rasterised PNG, not the XML beside it
        Assert.Equal(TinyDatasets.VocScribbleStrokesMask(), scribbles.Decode(1).Label);     // ScribbleSup's XML, rasterised
    }

    [Fact]
    public void Ade20k_reduces_the_zero_label_to_150_classes()
    {
        var root = _data.WriteAde20k();
        Assert.Equal(DatasetFormat.Ade20k, DatasetLayoutDetector.Detect(root));
        var layout = DatasetLayoutDetector.Open(root);
        Assert.Equal(150, layout.NumClasses);
        Assert.Equal("wall", layout.ClassNames[0]);
        Assert.Equal("flag", layout.ClassNames[149]);
        Assert.Equal(2, layout.Split("train").Count);
        var val = new FileSegmentationDataset(layout, "val");
        var sample = val.Decode(0);
        Assert.Equal(TinyDatasets.AdeTrainIds, sample.Label);
        AssertCloseToJpeg(TinyDatasets.Image(2), sample.Rgb);
    }

    [Fact]
    public void Folder_reads_png_and_jpeg_images_with_grey_masks_and_class_names()
    {
        var root = _data.WriteFolder();
        Assert.Equal(DatasetFormat.Folder, DatasetLayoutDetector.Detect(root));
        var layout = DatasetLayoutDetector.Open(root);
        Assert.Equal(["background", "cat", "dog"], layout.ClassNames);
        var train = new FileSegmentationDataset(layout, FolderDatasetReader.DefaultSplit);
        Assert.Equal(3, train.Count);
        Assert.Equal(TinyDatasets.Image(0), train.Decode(0).Rgb);
        AssertCloseToJpeg(TinyDatasets.Image(1), train.Decode(1).Rgb);
        Assert.Equal(TinyDatasets.Image(2), train.Decode(2).Rgb);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(TinyDatasets.FolderMask, train.Decode(i).Label));

        var normalised = train.Get(0);  // ImageNet normalisation, CHW
        Assert.Equal((TinyDatasets.Image(0)[0] / 255f - 0.485f) / 0.229f, normalised.Image[0], 4);
    }

    [Fact]
    public void Folder_with_split_subfolders_has_one_split_each()
    {
        var root = _data.Dir("splits");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, FolderDatasetReader.ClassesFile), """["bg", "fg"]""");
        foreach (var split in new[] { "train", "val" })
        {
            ImageFileWriter.Rgb(Path.Combine(root, "images", split, "x.png"), TinyDatasets.Image(1), TinyDatasets.H, TinyDatasets.W);
            ImageFileWriter.Gray(Path.Combine(root, "masks", split, "x.png"), TinyDatasets.Bands(0, 1), TinyDatasets.H, TinyDatasets.W);
        }
        var layout = DatasetLayoutDetector.Open(root);
        Assert.Equal(["train", "val"], layout.Splits.Keys);
        Assert.Equal(TinyDatasets.Bands(0, 1), new FileSegmentationDataset(layout, "val").Decode(0).Label);
    }

    [Fact]
    public void The_voc_palette_is_a_bijection_with_the_devkit_colours()
    {
        Assert.Equal(((byte)0, (byte)0, (byte)0), VocPalette.Colour(0));
        Assert.Equal(((byte)128, (byte)0, (byte)0), VocPalette.Colour(1));
        Assert.Equal(((byte)192, (byte)128, (byte)128), VocPalette.Colour(15));
        Assert.Equal(((byte)224, (byte)224, (byte)192), VocPalette.Colour(255));
        Assert.All(Enumerable.Range(0, 256), i =>
        {
            var (r, g, b) = VocPalette.Colour(i);
            Assert.True(VocPalette.TryIndex(r, g, b, out var back));
            Assert.Equal(i, back);
        });
    }

    /// <summary>JPEG (quality 100, 4:2:0 chroma) of a smooth image: within 2 levels on average, 12 at worst.</summary>
    private static void AssertCloseToJpeg(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var errors = expected.Zip(actual, (e, a) => Math.Abs(e - a)).ToList();
        Assert.InRange(errors.Average(), 0, 2);
        Assert.InRange(errors.Max(), 0, 12);
    }
}
