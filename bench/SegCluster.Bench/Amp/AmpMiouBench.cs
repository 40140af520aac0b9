using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Bench.Amp;

/// <summary>
/// `amp-miou`: validation mIoU of each precision at the same budget on the synthetic dataset, paired by seed (the same
/// initial weights and batch order for every precision), one CPU worker. The per-seed difference to fp32 is the figure
/// of interest: seeds move mIoU by points, pairing removes that (issue 15: bf16-mixed within 1 point of fp32).
/// </summary>
public static class AmpMiouBench
{
    public static readonly string[] Options = ["--model", "--width", "--size", "--classes", "--steps", "--batch", "--lr", "--val", "--seeds", "--precisions", "--out"];

    public static int Run(BenchArguments args)
    {
        var name = args.Text("--model", "spgnet");
        int width = args.Int("--width", 8), size = args.Int("--size", 32), classes = args.Int("--classes", 6);
        int steps = args.Int("--steps", 150), batchSize = args.Int("--batch", 8), valCount = args.Int("--val", 96);
        string lrText = args.Text("--lr", "0.02");
        double lr = double.TryParse(lrText, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed > 0
            ? parsed : throw new ArgumentException($"--lr: '{lrText}' is not a positive number.");
        var seeds = args.List("--seeds", [0, 1, 2], s => int.TryParse(s, out var n) ? n : throw new ArgumentException($"--seeds: '{s}' is not an integer."));
        var precisions = args.List<PrecisionMode>("--precisions", [PrecisionMode.Fp32, PrecisionMode.Bf16Mixed], AmpBench.Precision);
        string output = args.Text("--out", Path.Combine("bench", "results", "amp-miou.json"));

        var train = new SyntheticSceneDataset(new SyntheticSceneOptions(classes, size, size, Count: 512, Seed: 1));
        var val = new SyntheticSceneDataset(new SyntheticSceneOptions(classes, size, size, Count: valCount, Seed: 2));
        var rows = new List<object>();
        var miou = new Dictionary<(int, PrecisionMode), double>();
        foreach (int seed in seeds)
            foreach (var precision in precisions)
            {
                var clock = Stopwatch.StartNew();
                random.manual_seed(seed);
                using var model = ModelRegistry.Create(new ModelOptions(name, classes, width, NormKind.BatchNorm));
                using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
                    new OptimizerOptions(LearningRate: lr), new SingleRankReducer(), new PrecisionOptions(precision));
                var order = new Random(seed);
                double loss = 0;
                for (int step = 0; step < steps; step++)
                {
                    var pick = Enumerable.Range(0, batchSize).Select(_ => train.Get(order.Next(train.Count))).ToList();
                    using var batch = SegmentationBatch.Collate(pick, CPU);
                    loss = trainer.Step(batch).Loss;
                }
                var metrics = Evaluator.Evaluate(model, val, Enumerable.Range(0, val.Count).ToArray(), 16, CPU);
                miou[(seed, precision)] = metrics.MeanIoU;
                rows.Add(new { seed, precision = PrecisionOptions.Name(precision), miou = metrics.MeanIoU, final_loss = loss, seconds = clock.Elapsed.TotalSeconds });
                Console.WriteLine($"seed {seed} {PrecisionOptions.Name(precision),-11} mIoU {metrics.MeanIoU:P2} loss {loss:F3} {clock.Elapsed.TotalSeconds:F0} s");
            }
        var differences = precisions.Where(p => p != PrecisionMode.Fp32).Select(p =>
        {
            var d = seeds.Select(s => 100 * (miou[(s, p)] - miou[(s, PrecisionMode.Fp32)])).ToArray();
            double mean = d.Average(), sd = d.Length > 1 ? Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1)) : 0;
            Console.WriteLine($"{PrecisionOptions.Name(p)} − fp32: mean {mean:+0.00;-0.00} points, sd {sd:F2}, per seed [{string.Join(", ", d.Select(x => x.ToString("+0.00;-0.00")))}]");
            return new { precision = PrecisionOptions.Name(p), minus_fp32_points = d, mean_points = mean, sd_points = sd };
        }).ToList();
        BenchJson.Write(output, new
        {
            bench = "amp-miou",
            what = "validation mIoU after the same number of SGD steps per precision, paired by seed (same init and batch order); one CPU worker",
            model = name, width, size, classes, steps, batch = batchSize, lr, val = valCount, seeds,
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
            rows, differences,
        });
        Console.WriteLine($"wrote {output}");
        return 0;
    }
}
