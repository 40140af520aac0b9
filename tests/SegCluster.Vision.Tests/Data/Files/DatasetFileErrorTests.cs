using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>Bad files give errors that name the file; a training source turns them into all-ignore samples and
/// leaves the other samples untouched.</summary>
public sealed class DatasetFileErrorTests : IDisposable
{
    private readonly TinyDatasets _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void A_corrupt_image_names_the_file()
    {
        var root = _data.WriteFolder();
        var image = Path.Combine(root, "images", "c.png");
        ImageFileWriter.Corrupt(image);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var e = Assert.Throws<DatasetFileException>(() => dataset.Decode(2));
        Assert.Equal(image, e.Path);
        Assert.Contains(image, e.Message);
    }

    [Fact]
    public void A_missing_mask_names_the_expected_mask_file()
    {
        var root = _data.WriteFolder();
        var mask = Path.Combine(root, "masks", "b.png");
        File.Delete(mask);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var e = Assert.Throws<DatasetFileException>(() => dataset.Decode(1));
        Assert.Contains(mask, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void A_mask_value_out_of_range_names_the_file_and_the_value()
    {
        var root = _data.WriteFolder();
        var mask = Path.Combine(root, "masks", "a.png");
        ImageFileWriter.Gray(mask, TinyDatasets.Bands(0, 7), TinyDatasets.H, TinyDatasets.W);  // 3 classes: 7 is invalid
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var e = Assert.Throws<DatasetFileException>(() => dataset.Decode(0));
        Assert.Contains(mask, e.Message);
        Assert.Contains("mask value 7", e.Message);
        Assert.Contains("0..2 = class ids, 255 = ignore", e.Message);
    }

    [Fact]
    public void A_16_bit_mask_reads_its_ids_and_refuses_ids_above_255()
    {
        // An 8-bit decode keeps the high byte: ids 0–255 all read as 0, and 300 as 1, without a word.
        var root = _data.WriteFolder();
        var mask = Path.Combine(root, "masks", "a.png");
        // Ids varying along rows and columns, rows written with every PNG filter type; the folder dataset has 3 classes + 255.
        var ids = Enumerable.Range(0, TinyDatasets.H * TinyDatasets.W).Select(i => (i * 7 + i / TinyDatasets.W) % 4).Select(v => (byte)(v == 3 ? 255 : v)).ToArray();
        ImageFileWriter.Gray16Png(mask, [.. ids.Select(v => (ushort)v)], TinyDatasets.H, TinyDatasets.W);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        Assert.Equal(ids, dataset.Decode(0).Label);

        var wide = new ushort[TinyDatasets.H * TinyDatasets.W];
        wide[5] = 300;
        ImageFileWriter.Gray16Png(mask, wide, TinyDatasets.H, TinyDatasets.W);
        var e = Assert.Throws<DatasetFileException>(() => dataset.Decode(0));
        Assert.Contains(mask, e.Message);
        Assert.Contains("id 300 (a 16-bit mask)", e.Message);
    }

    /// <summary>PIL saves a binary mask (mode '1') as a 1-bit grey PNG, which the decoder scales to 0-255: class 1 came back
    /// as 255, the ignore label, and the run trained on background alone without a word.</summary>
    [Fact]
    public void A_1_bit_grey_mask_is_refused_naming_the_file_and_the_fix()
    {
        var root = _data.WriteFolder();
        var mask = Path.Combine(root, "masks", "a.png");
        ImageFileWriter.Gray1Png(mask, TinyDatasets.Bands(0, 1), TinyDatasets.H, TinyDatasets.W);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");

        var error = Assert.Throws<DatasetFileException>(() => dataset.Decode(0));

        Assert.Contains(mask, error.Message);
        Assert.Contains("a 1-bit grey PNG", error.Message);
        Assert.Contains("mask.convert('L')", error.Message);
    }

    [Fact]
    public void A_cityscapes_id_above_33_is_an_error_not_a_silent_ignore()
    {
        var root = _data.WriteCityscapes();
        var mask = _data.Dir("gtFine", "val", "frankfurt", "frankfurt_000000_000294_gtFine_labelIds.png");
        ImageFileWriter.Gray(mask, TinyDatasets.Bands(7, 40), TinyDatasets.H, TinyDatasets.W);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "val");
        Assert.Contains("mask value 40", Assert.Throws<DatasetFileException>(() => dataset.Decode(0)).Message);
    }

    [Fact]
    public void A_mask_of_another_size_names_both_files()
    {
        var root = _data.WriteFolder();
        var mask = Path.Combine(root, "masks", "a.png");
        ImageFileWriter.Gray(mask, new byte[8 * 8], 8, 8);
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var e = Assert.Throws<DatasetFileException>(() => dataset.Decode(0));
        Assert.Contains(mask, e.Message);
        Assert.Contains(Path.Combine(root, "images", "a.png"), e.Message);
    }

    [Fact]
    public void An_unknown_layout_lists_what_each_format_expects()
    {
        var empty = _data.Dir("empty");
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<ArgumentException>(() => DatasetLayoutDetector.Open(empty));
        Assert.Contains("cityscapes (leftImg8bit/ + gtFine/)", e.Message);
        Assert.Contains("classes.json", e.Message);
        Assert.Contains("is not a voc dataset", Assert.Throws<ArgumentException>(() => DatasetLayoutDetector.Open(empty, "voc")).Message);
        Assert.Contains("auto, cityscapes, voc, ade20k, folder", Assert.Throws<ArgumentException>(() => DatasetLayoutDetector.Open(empty, "coco")).Message);
    }

    [Fact]
    public void A_bad_classes_file_names_itself()
    {
        var root = _data.WriteFolder();
        var classes = Path.Combine(root, FolderDatasetReader.ClassesFile);
        File.WriteAllText(classes, "{ not json");
        Assert.Contains(classes, Assert.Throws<DatasetFileException>(() => DatasetLayoutDetector.Open(root)).Message);
    }

    [Fact]
    public void Training_turns_an_unusable_sample_into_ignore_and_keeps_the_rest_exact()
    {
        var root = _data.WriteFolder();
        ImageFileWriter.Corrupt(Path.Combine(root, "images", "c.png"));
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var source = new AugmentedFileSource(dataset, AugmentationOptions.None(16, 16), cacheBytes: 1 << 20, seed: 1, training: true);
        var reported = new List<DatasetFileException>();
        source.InvalidSample += reported.Add;

        var bad = source.Load(2, epoch: 0);
        Assert.All(bad.Label, v => Assert.Equal(SegmentationSample.IgnoreLabel, v));
        Assert.All(bad.Image, v => Assert.Equal(0f, v));
        Assert.Equal((0, 0), bad.Content);  // no content: the §5 regulariser adds nothing for it either
        source.Load(2, epoch: 1);
        Assert.Single(reported);  // reported once, not every epoch
        Assert.Contains("c.png", reported[0].Message);

        var good = source.Load(0, epoch: 0);  // 12x16 image padded to 16x16: the 12 rows are the mask, the rest ignore
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                Assert.Equal(y < TinyDatasets.H ? TinyDatasets.FolderMask[y * TinyDatasets.W + x] : SegmentationSample.IgnoreLabel, good.Label[y * 16 + x]);
    }

    [Fact]
    public void More_unusable_samples_than_the_limit_stop_training_naming_the_first_file()
    {
        var root = _data.WriteFolder();  // 3 training samples
        foreach (var name in new[] { "a.png", "c.png" }) File.Delete(Path.Combine(root, "masks", name));
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        var source = new AugmentedFileSource(dataset, AugmentationOptions.None(16, 16), cacheBytes: 1 << 20, seed: 1, training: true) { MaxInvalidFraction = 0.4 };

        source.Load(2, epoch: 0);  // 1 of 3 unusable: within 40%, trained as ignore
        source.Load(1, epoch: 0);
        var stopped = Assert.Throws<TooManyInvalidSamplesException>(() => source.Load(0, epoch: 0));

        Assert.Contains("2 of 3 samples are unusable, more than dataset.max_invalid_fraction = 0.4 allows", stopped.Message);
        Assert.Contains(Path.Combine(root, "masks", "a.png"), stopped.Message);  // the first by index
    }

    /// <summary>A rank loads only its 1/W slice: the limit applies to that slice, then to every distinct sample it has
    /// read. Compared with the whole split, each of W ranks stopped only after finding W times the allowed number in its
    /// own slice (10% broken, 8 ranks, 5%: never in a short run); compared with the slice alone, a rank whose slices
    /// change every epoch, or that evaluates the whole split, was held to 1/W of what it had read.</summary>
    [Fact]
    public void A_ranks_limit_applies_to_its_slice_and_then_to_every_sample_it_has_read()
    {
        var root = _data.WriteFolder();  // 3 training samples
        File.Delete(Path.Combine(root, "masks", "c.png"));
        var dataset = new FileSegmentationDataset(DatasetLayoutDetector.Open(root), "train");
        AugmentedFileSource Rank() => new(dataset, AugmentationOptions.None(16, 16), cacheBytes: 1 << 20, seed: 1, training: true)
        {
            MaxInvalidFraction = 0.4, Coverage = 1.0 / 3,  // one sample of the three: a rank of 3
        };

        var stopped = Assert.Throws<TooManyInvalidSamplesException>(() => Rank().Load(2, epoch: 0));  // 1 of 1 > 40%; 1 of 3 is not
        Assert.Contains("1 of the 1 samples this rank has read (of 3) are unusable", stopped.Message);

        var later = Rank();  // its next epochs' slices bring samples 0 and 1 first
        later.Load(0, epoch: 0);
        later.Load(1, epoch: 1);
        Assert.All(later.Load(2, epoch: 2).Label, v => Assert.Equal(SegmentationSample.IgnoreLabel, v));  // 1 of 3 read: within 40%
    }
}
