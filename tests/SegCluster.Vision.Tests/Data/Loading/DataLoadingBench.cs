using System.Diagnostics;
using System.Text.Json;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Tests.Data.Files;
using SegCluster.Vision.Tests.Experiments;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Data.Loading;

/// <summary>
/// Data wait against step time on a folder dataset of PNGs, the worker loop's pipeline (cache → augment → prefetch →
/// collate) feeding SPGNet training. The cache assertion runs always; the measured run (numbers to bench/data_loading.json
/// and the README, no timed assertion) only with SEGCLUSTER_EXPERIMENTS=1.
/// </summary>
public sealed class DataLoadingBench : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-bench-").FullName;

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

    [ExperimentFact]
    public void Warm_cache_data_wait_is_a_small_fraction_of_the_step()
    {
        const int count = 48, batch = 8, epochs = 3, crop = 128;
        var dataset = Write(count, h: 256, w: 320);

        // What loading costs without cache or prefetch: decode + augment one batch synchronously.
        var cold = new AugmentedFileSource(dataset, new AugmentationOptions(crop, crop), cacheBytes: 0, seed: 0, training: true);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < batch; i++) cold.Load(i, 0);
        var syncLoadMs = clock.Elapsed.TotalMilliseconds;

        var source = new AugmentedFileSource(dataset, new AugmentationOptions(crop, crop), cacheBytes: 1L << 30, seed: 0, training: true);
        manual_seed(1);
        using var model = ModelRegistry.Create(new ModelOptions("spgnet", 4, 16, NormKind.GroupNorm));
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        int stepsPerEpoch = count / batch;
        int[] Order(int epoch) { var o = Enumerable.Range(0, count).ToArray(); new Random(epoch).Shuffle(o); return o; }
        using var prefetcher = new BatchPrefetcher(source, Order, batch, epochs * stepsPerEpoch, depth: 2, CancellationToken.None);
        var perEpoch = new List<object>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            double wait = 0, step = 0;
            var before = source.CacheStatistics;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                clock.Restart();
                var next = prefetcher.Next();
                using var b = SegmentationBatch.Collate(next.Samples, CPU);
                wait += clock.Elapsed.TotalMilliseconds;
                trainer.Step(b);
                step += clock.Elapsed.TotalMilliseconds;
            }
            var after = source.CacheStatistics;
            long hits = after.Hits - before.Hits, misses = after.Misses - before.Misses;
            perEpoch.Add(new
            {
                epoch,
                data_wait_ms_per_step = wait / stepsPerEpoch,
                step_ms = step / stepsPerEpoch,
                data_wait_share = wait / step,
                cache_hit_rate = hits + misses == 0 ? 0 : (double)hits / (hits + misses),
            });
        }
        var result = new
        {
            what = "folder dataset of 256x320 PNGs, crop 128x128 (scale 0.5-2, flip, jitter), batch 8, spgnet width 16 GN, 1 CPU rank, prefetch depth 2",
            machine = $"{Environment.ProcessorCount} cores, shared",
            sync_load_ms_per_batch_without_cache_or_prefetch = syncLoadMs,
            epochs = perEpoch,
            cache_mib = source.CacheStatistics.Bytes / 1048576.0,
        };
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(BenchFolder(), "data_loading.json"), json);
        Assert.Equal(count, source.CacheStatistics.Misses);  // each sample decoded once
    }

    /// <summary>A folder dataset of textured PNGs (noise makes decoding cost what real photos cost) and 4-class masks.</summary>
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

    private static string BenchFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SegCluster.sln"))) dir = dir.Parent;
        var bench = Path.Combine(dir?.FullName ?? ".", "bench");
        Directory.CreateDirectory(bench);
        return bench;
    }
}
