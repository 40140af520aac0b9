using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Bench.Truncation;

/// <summary>
/// `decoder-truncation`: compute (ModelProfiler MACs at the training size) against full-resolution
/// validation mIoU for spectral decoder truncation ratios r (PAPERS.md §2 "Feature truncation"), short
/// single-process runs on the synthetic set with the quickstart's data, optimiser and seed.
/// </summary>
public static class DecoderTruncationBench
{
    public static readonly string[] Options = ["--models", "--ratios", "--size", "--batch", "--steps", "--width", "--threads", "--seed", "--out"];

    /// <summary>The quickstart's validation split: the same generator under another seed.</summary>
    private const int ValidationSeedOffset = 1_000_003;

    public static int Run(BenchArguments args)
    {
        var models = args.List("--models", ["spgnet", "deeplabv3plus"], s => s);
        var ratios = args.List("--ratios", [1.0, 0.5, 0.25], s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
        int size = args.Int("--size", 64), batchSize = args.Int("--batch", 8), steps = args.Int("--steps", 300);
        int width = args.Int("--width", 16), seed = args.Int("--seed", 0);
        set_num_threads(args.Int("--threads", 2));
        string output = args.Text("--out", Path.Combine("bench", "results", "decoder-truncation.json"));

        var train = new SyntheticSceneDataset(new SyntheticSceneOptions(6, size, size, 2048, seed));
        var validation = new SyntheticSceneDataset(new SyntheticSceneOptions(6, size, size, 128, seed + ValidationSeedOffset));
        var rows = new List<object>();
        Console.WriteLine($"{models.Count * ratios.Count} runs of {steps} steps");
        foreach (var name in models)
        {
            double? referenceMacs = null;
            foreach (var ratio in ratios)
            {
                random.manual_seed(seed);
                using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: width, DecoderTruncation: ratio));
                var profile = ModelProfiler.Profile(model, size, size, model.OutputStride, maxProbeDivisor: 1);
                referenceMacs ??= profile.Macs;
                double seconds = 0;
                Vision.Metrics.SegmentationMetrics? metrics = null;  // --steps 0: compute only, no training
                if (steps > 0)
                {
                    using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(0.05, 0.9, 1e-4), new SingleRankReducer());
                    var clock = Stopwatch.StartNew();
                    for (int step = 0; step < steps; step++)
                    {
                        var samples = Enumerable.Range(step * batchSize, batchSize).Select(i => train.Get(i % train.Count)).ToArray();
                        using var batch = SegmentationBatch.Collate(samples, CPU);
                        trainer.Step(batch);
                    }
                    seconds = clock.Elapsed.TotalSeconds;
                    metrics = Evaluator.Evaluate(model, validation, Enumerable.Range(0, validation.Count).ToArray(), 16, CPU);
                }
                rows.Add(new
                {
                    model = name,
                    ratio,
                    macs = profile.Macs,
                    flops = profile.Flops,
                    macs_ratio_to_first = profile.Macs / referenceMacs.Value,
                    miou = metrics?.MeanIoU,
                    class_iou = metrics?.ClassIoU,
                    train_seconds = seconds,
                });
                WriteResults(output, rows, size, batchSize, steps, width, seed, validation.Count);  // after every row: a long run keeps what it has
                Console.WriteLine($"{name,-16} r={ratio,-5} {profile.Macs / 1e6,8:F2} MMACs ({profile.Macs / referenceMacs.Value:P1})  mIoU {metrics?.MeanIoU:P2}  {seconds:F0} s");
            }
        }
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static void WriteResults(string output, List<object> rows, int size, int batchSize, int steps, int width, int seed, int validationImages) =>
        BenchJson.Write(output, new
        {
            bench = "decoder-truncation",
            what = "spectral truncation of the finest decoder level; MACs from ModelProfiler (convolutions and linears; the FFTs are not counted) at the training size; full-resolution validation mIoU after short training",
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
            size,
            batch = batchSize,
            steps,
            width,
            seed,
            learning_rate = 0.05,
            validation_images = validationImages,
            rows,
        });
}
