using System.Diagnostics;
using Grid = SegCluster.Vision.Labels.LabelGrid;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Bench.LabelGrid;

/// <summary>
/// `label-fractions`: the soft labels' per-class cell fractions (<see cref="Grid.ClassFractions"/>, one scatter-add
/// of each pixel into its (class, cell) bin) against the full-resolution one-hot and average pooling they replaced:
/// median time of each, the largest difference (0 expected: counts are exact), and the transient bytes each allocates.
/// </summary>
public static class LabelFractionsBench
{
    public static readonly string[] Options = ["--batch", "--height", "--width", "--classes", "--factors", "--repeats", "--threads", "--out"];

    public static int Run(BenchArguments args)
    {
        int batch = args.Int("--batch", 4), height = args.Int("--height", 512), width = args.Int("--width", 1024);
        int classes = args.Int("--classes", 19), repeats = args.Int("--repeats", 5), threads = args.Int("--threads", 2);
        var factors = args.List("--factors", [4, 8], int.Parse);
        string output = args.Text("--out", Path.Combine("bench", "results", "label-fractions.json"));
        torch.set_num_threads(threads);
        random.manual_seed(0);
        using var labels = randint(0, classes, [batch, height, width], dtype: ScalarType.Int64)
            .masked_fill(rand(batch, height, width).lt(0.1), 255).to(ScalarType.Byte);  // 10% ignore pixels
        long pixels = (long)batch * height * width;
        var rows = new List<object>();
        foreach (var factor in factors)
        {
            using (var warm = OneHotReference(labels, classes, factor)) { }
            using (var warm = Grid.ClassFractions(labels, classes, factor, 255)) { }
            double reference = Median(repeats, () => OneHotReference(labels, classes, factor));
            double scatter = Median(repeats, () => Grid.ClassFractions(labels, classes, factor, 255));
            using var expected = OneHotReference(labels, classes, factor);
            using var actual = Grid.ClassFractions(labels, classes, factor, 255);
            double difference = (expected - actual).abs().max().item<float>();
            // int64 one-hot + its float32 copy + the masked product (+ the int64 labels) vs int64 labels, cell map and bin
            // index, the ignore mask and the (B, K·cells + 1) counts.
            long referenceBytes = pixels * classes * (8 + 4 + 4) + pixels * 8;
            long scatterBytes = pixels * (8 + 8 + 1) + (long)height * width * 8 + (long)batch * (classes * LabelGridCells(height, width, factor) + 1) * 4;
            rows.Add(new { factor, one_hot_ms = reference, scatter_add_ms = scatter, speedup = reference / scatter, max_difference = difference,
                one_hot_transient_bytes = referenceBytes, scatter_add_transient_bytes = scatterBytes });
            Console.WriteLine($"f={factor}: one-hot {reference:F1} ms, scatter-add {scatter:F1} ms ({reference / scatter:F2}x), max |difference| {difference}, " +
                              $"transient {referenceBytes / 1e6:F0} MB vs {scatterBytes / 1e6:F0} MB");
        }
        BenchJson.Write(output, new { bench = "label-fractions", what = "soft-label cell fractions: scatter-add counts vs full-resolution one-hot + avg_pool2d (median ms; transient bytes computed from the shapes)",
            batch, height, width, classes, threads, repeats, rows });
        return 0;
    }

    private static long LabelGridCells(int height, int width, int factor) =>
        Grid.CoarseSize(height, factor) * Grid.CoarseSize(width, factor);

    /// <summary>The formula ClassFractions replaced: one-hot (B, K, H, W) with ignore rows zero, zero-padded, average-pooled.</summary>
    private static Tensor OneHotReference(Tensor labels, int classes, int factor)
    {
        using var scope = NewDisposeScope();
        var l = labels.to(ScalarType.Int64);
        var valid = l.ne(255);
        var oneHot = nn.functional.one_hot(l.masked_fill(valid.logical_not(), 0), classes).permute(0, 3, 1, 2).to(ScalarType.Float32)
                     * valid.unsqueeze(1).to(ScalarType.Float32);
        long h = labels.shape[1], w = labels.shape[2];
        oneHot = nn.functional.pad(oneHot, [0, Grid.CoarseSize(w, factor) * factor - w, 0, Grid.CoarseSize(h, factor) * factor - h]);
        return nn.functional.avg_pool2d(oneHot, factor, factor).MoveToOuterDisposeScope();
    }

    private static double Median(int repeats, Func<Tensor> run)
    {
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            using (run()) { }
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return Math.Round(times[times.Count / 2], 1);
    }
}
