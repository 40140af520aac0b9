using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Tests.Data.Files;

namespace SegCluster.Vision.Tests.Data.Loading;

/// <summary>The decoded-sample cache under a training source: each file is decoded once, later epochs only augment.
/// (Data wait against step time is measured by `segcluster-bench data-loading`, bench/README.md.)</summary>
public sealed class AugmentedFileSourceCacheTests : IDisposable
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

    /// <summary>A folder dataset of noise PNGs and 4-class masks.</summary>
    private FileSegmentationDataset Write(int count, int h, int w)
    {
        File.WriteAllText(Path.Combine(_root, "classes.json"), """["a", "b", "c", "d"]""");
        var rng = new Random(3);
        for (int i = 0; i < count; i++)
        {
            var rgb = new byte[h * w * 3];
            rng.NextBytes(rgb);
            var mask = new byte[h * w];
            for (int p = 0; p < mask.Length; p++) mask[p] = (byte)((p % w) * 4 / w);
            ImageFileWriter.Rgb(Path.Combine(_root, "images", $"{i:D3}.png"), rgb, h, w);
            ImageFileWriter.Gray(Path.Combine(_root, "masks", $"{i:D3}.png"), mask, h, w);
        }
        return new FileSegmentationDataset(DatasetLayoutDetector.Open(_root), FolderDatasetReader.DefaultSplit);
    }
}
