using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Bench.DataLoading;

/// <summary>
/// `data-loading`: data wait against step time on a folder dataset of PNGs, through the worker loop's pipeline
/// (cache → augment → prefetch → collate) feeding SPGNet training on one CPU rank, per epoch (the first fills the
/// cache), next to loading one batch synchronously without cache or prefetch, and what drawing scribbles before
/// augmentation adds to a warm load. Fails if a sample was decoded twice.
/// </summary>
public static class DataLoadingBench
{
    public static readonly string[] Options = ["--images", "--height", "--width", "--crop", "--batch", "--epochs", "--loader-threads", "--out"];

    public static int Run(BenchArguments args)
    {
        int count = args.Int("--images", 48), h = args.Int("--height", 256), w = args.Int("--width", 320);
        int crop = args.Int("--crop", 128), batch = args.Int("--batch", 8), epochs = args.Int("--epochs", 3), threads = args.Int("--loader-threads", 1);
        var output = args.Text("--out", Path.Combine("bench", "results", "data_loading.json"));
        if (batch < 1 || count < batch || epochs < 1 || crop < 1 || h < 1 || w < 1 || threads < 1)
            throw new ArgumentException("--batch, --epochs, --crop, --height, --width and --loader-threads must be ≥ 1 and --images ≥ --batch.");
        var root = Directory.CreateTempSubdirectory("segcluster-bench-").FullName;
        try
        {
            var dataset = TexturedPngFolder.Write(root, count, h, w);
            var result = Measure(dataset, count, h, w, crop, batch, epochs, threads);
            BenchJson.Write(output, result);
            Console.WriteLine($"wrote {output}");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static object Measure(FileSegmentationDataset dataset, int count, int h, int w, int crop, int batch, int epochs, int threads)
    {
        // What loading costs without cache or prefetch: decode + augment one batch, on one thread and on `threads`.
        double ColdBatchMs(int loaders)
        {
            var cold = new AugmentedFileSource(dataset, new AugmentationOptions(crop, crop), cacheBytes: 0, seed: 0, training: true);
            using var once = new BatchPrefetcher(cold, _ => Enumerable.Range(0, count).ToArray(), batch, totalSteps: 1, depth: 0, CancellationToken.None, loaderThreads: loaders);
            var timer = Stopwatch.StartNew();
            once.Next();
            return timer.Elapsed.TotalMilliseconds;
        }
        var syncLoadMs = ColdBatchMs(1);
        var threadedLoadMs = ColdBatchMs(threads);
        Console.WriteLine($"cold batch: {syncLoadMs:F0} ms on 1 thread, {threadedLoadMs:F0} ms on {threads}");
        var clock = Stopwatch.StartNew();

        var source = new AugmentedFileSource(dataset, new AugmentationOptions(crop, crop), cacheBytes: 1L << 30, seed: 0, training: true);
        manual_seed(1);
        using var model = ModelRegistry.Create(new ModelOptions("spgnet", 4, 16, NormKind.GroupNorm));
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        int stepsPerEpoch = count / batch;
        int[] Order(int epoch) { var o = Enumerable.Range(0, count).ToArray(); new Random(epoch).Shuffle(o); return o; }
        using var prefetcher = new BatchPrefetcher(source, Order, batch, epochs * stepsPerEpoch, depth: 2, CancellationToken.None, loaderThreads: threads);
        var perEpoch = new List<object>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            double wait = 0, step = 0;
            var before = source.CacheStatistics;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                clock.Restart();
                var next = prefetcher.Next();
                using var b = SegmentationBatch.FromHost(next.Batch, CPU);
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
            Console.WriteLine($"epoch {epoch}: data wait {wait / stepsPerEpoch:F1} ms of a {step / stepsPerEpoch:F0} ms step, cache hit rate {(hits + misses == 0 ? 0 : (double)hits / (hits + misses)):F2}");
        }
        if (source.CacheStatistics.Misses != count)
            throw new InvalidOperationException($"{source.CacheStatistics.Misses} samples were decoded for {count} images; each should be decoded once.");
        var (plainMs, drawingMs, paintingMs) = WarmLoads(dataset, crop);
        Console.WriteLine($"warm load {plainMs:F1} ms per sample; with scribbles {drawingMs:F1} ms drawing them ({drawingMs / plainMs:F2}x), " +
            $"{paintingMs:F1} ms painting the kept strokes ({paintingMs / plainMs:F2}x)");
        return new
        {
            what = $"folder dataset of {h}x{w} PNGs, crop {crop}x{crop} (scale 0.5-2, flip, jitter), batch {batch}, spgnet width 16 GN, 1 CPU rank, prefetch depth 2, {threads} loader thread(s)",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            measured_at = DateTime.UtcNow,
            sync_load_ms_per_batch_without_cache_or_prefetch = syncLoadMs,
            loader_threads = threads,
            load_ms_per_batch_without_cache_on_loader_threads = threadedLoadMs,
            epochs = perEpoch,
            cache_mib = source.CacheStatistics.Bytes / 1048576.0,
            warm_load_ms_per_sample = plainMs,
            warm_load_ms_per_sample_drawing_scribbles = drawingMs,
            warm_load_ms_per_sample_painting_scribbles = paintingMs,
            scribble_drawing_ratio = drawingMs / plainMs,
            scribble_painting_ratio = paintingMs / plainMs,
        };
    }

    /// <summary>
    /// Loads from a warm cache (augment only), milliseconds per sample: plain, drawing each sample's scribbles from its
    /// whole mask (labels.mode scribble, PAPERS.md §5: the first epoch draws them) and painting the kept strokes (later
    /// epochs); plain and painting as medians of 5 alternated epochs.
    /// </summary>
    private static (double Plain, double Drawing, double Painting) WarmLoads(FileSegmentationDataset dataset, int crop)
    {
        var decoded = new DecodedSplit(dataset, cacheBytes: 1L << 30);
        var options = new AugmentationOptions(crop, crop);
        var plain = new AugmentedFileSource(decoded, options, seed: 0, training: true);
        var scribbled = new AugmentedFileSource(decoded, options, seed: 0, training: true, new DrawnScribbles(new ScribbleSynthesizer(dataset.NumClasses, seed: 0)));
        double Epoch(AugmentedFileSource source, int epoch)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < dataset.Count; i++) source.Load(i, epoch);
            return clock.Elapsed.TotalMilliseconds / dataset.Count;
        }
        static double Median(IEnumerable<double> values) { var v = values.Order().ToArray(); return v[v.Length / 2]; }
        for (int epoch = 0; epoch < 4; epoch++) Epoch(plain, epoch);  // decode every file once, and let the JIT optimise
        Epoch(new AugmentedFileSource(decoded, options, seed: 0, training: true, new DrawnScribbles(new ScribbleSynthesizer(dataset.NumClasses, seed: 1))), 1);  // the drawing code too
        var drawingMs = Epoch(scribbled, 1);
        var (plainMs, paintingMs) = (new List<double>(), new List<double>());
        for (int epoch = 2; epoch < 7; epoch++)  // alternated, so load on the machine falls on both alike
        {
            plainMs.Add(Epoch(plain, epoch));
            paintingMs.Add(Epoch(scribbled, epoch));
        }
        return (Median(plainMs), drawingMs, Median(paintingMs));
    }
}
