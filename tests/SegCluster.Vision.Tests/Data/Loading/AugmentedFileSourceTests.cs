using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Tests.Data.Files;

namespace SegCluster.Vision.Tests.Data.Loading;

/// <summary>A training source over files: the decoded-sample cache under it (each file is decoded once, later epochs only
/// augment; data wait against step time is measured by `segcluster-bench data-loading`, bench/README.md), and scribbles
/// drawn before augmentation.</summary>
public sealed class AugmentedFileSourceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-cache-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void After_the_first_epoch_every_sample_comes_from_the_cache()
    {
        var dataset = Write(count: 6, h: 24, w: 40);
        var source = new AugmentedFileSource(dataset, new AugmentationOptions(16, 16), cacheBytes: 1 << 20, seed: 0, training: true);
        for (int epoch = 0; epoch < 3; epoch++)
            for (int i = 0; i < dataset.Count; i++) source.Load(i, epoch);
        var stats = source.CacheStatistics;
        Assert.Equal((6L, 12L), (stats.Misses, stats.Hits));
        Assert.Equal(6 * (24 * 40 * 4L), stats.Bytes);  // RGB + label bytes of each decoded sample
    }

    /// <summary>
    /// A fixed annotation is cropped and flipped with its image: every training view's labels are a window of the whole
    /// image's strokes (mirrored when flipped). Strokes drawn on the crop instead would sit on other rows and columns.
    /// </summary>
    [Fact]
    public void Scribbles_are_drawn_from_the_whole_mask_so_every_crop_and_flip_shows_the_same_strokes()
    {
        const int h = 32, w = 48, crop = 16;
        var dataset = Write(count: 1, h, w);
        var scribbles = new ScribbleSynthesizer(4, seed: 5);
        var whole = scribbles.Draw(Mask(h, w), h, w, key: 0);
        var source = new AugmentedFileSource(new DecodedSplit(dataset, cacheBytes: 1 << 20),
            new AugmentationOptions(crop, crop, MinScale: 1, MaxScale: 1, FlipProbability: 0.5), seed: 0, training: true, new DrawnScribbles(scribbles));

        var views = Enumerable.Range(0, 12).Select(epoch => source.Load(0, epoch).Label).Where(l => l.Any(v => v != 255)).ToList();
        Assert.True(views.Distinct(new ByteArrayComparer()).Count() >= 3, "the augmentation should show several different views");
        foreach (var view in views)
            Assert.True(WindowOf(whole, view), "a view's strokes are not a window of the image's strokes");

        bool WindowOf(byte[] full, byte[] view) =>
            Enumerable.Range(0, h - crop + 1).Any(top => Enumerable.Range(0, w - crop + 1).Any(left => new[] { false, true }.Any(flip =>
                Enumerable.Range(0, crop * crop).All(p => view[p] == full[(top + p / crop) * w + left + (flip ? crop - 1 - p % crop : p % crop)]))));
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? a, byte[]? b) => a.AsSpan().SequenceEqual(b);

        public int GetHashCode(byte[] a) => a.Length;
    }

    /// <summary>Four vertical bands of classes 0–3.</summary>
    private static byte[] Mask(int h, int w) => Enumerable.Range(0, h * w).Select(p => (byte)(p % w * 4 / w)).ToArray();

    /// <summary>A folder dataset of noise PNGs and 4-class masks (<see cref="Mask"/>).</summary>
    private FileSegmentationDataset Write(int count, int h, int w)
    {
        File.WriteAllText(Path.Combine(_root, "classes.json"), """["a", "b", "c", "d"]""");
        var rng = new Random(3);
        for (int i = 0; i < count; i++)
        {
            var rgb = new byte[h * w * 3];
            rng.NextBytes(rgb);
            ImageFileWriter.Rgb(Path.Combine(_root, "images", $"{i:D3}.png"), rgb, h, w);
            ImageFileWriter.Gray(Path.Combine(_root, "masks", $"{i:D3}.png"), Mask(h, w), h, w);
        }
        return new FileSegmentationDataset(DatasetLayoutDetector.Open(_root), FolderDatasetReader.DefaultSplit);
    }
}
