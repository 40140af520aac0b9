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
/// <c>--eval-at</c> evaluates every run at several step counts on its way to <c>--steps</c> (a convergence curve at no
/// extra training); the JSON is rewritten after each seed, so a run cut short keeps the seeds it finished.
/// </summary>
public static class AmpMiouBench
{
    public static readonly string[] Options = ["--model", "--width", "--size", "--classes", "--steps", "--batch", "--lr", "--val", "--seeds", "--precisions", "--eval-at", "--schedule", "--out"];

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
        string schedule = args.Text("--schedule", LearningRateSchedule.Constant);
        if (!LearningRateSchedule.Policies.Contains(schedule))
            throw new ArgumentException($"--schedule: '{schedule}' is unknown; use one of {string.Join(", ", LearningRateSchedule.Policies)}.");
        var evalAt = args.List("--eval-at", [steps], s => int.TryParse(s, out var n) && n > 0 && n <= steps
            ? n : throw new ArgumentException($"--eval-at: '{s}' is not a step count in 1..{steps}.")).Append(steps).Distinct().Order().ToArray();
        string output = args.Text("--out", Path.Combine("bench", "results", "amp-miou.json"));

        var train = new SyntheticSceneDataset(new SyntheticSceneOptions(classes, size, size, Count: 512, Seed: 1));
        var val = new SyntheticSceneDataset(new SyntheticSceneOptions(classes, size, size, Count: valCount, Seed: 2));
        var rows = new List<object>();
        var miou = new Dictionary<(int Seed, PrecisionMode Precision, int Step), double>();
        var finished = new List<int>();
        foreach (int seed in seeds)
        {
            foreach (var precision in precisions)
            {
                var clock = Stopwatch.StartNew();
                random.manual_seed(seed);
                using var model = ModelRegistry.Create(new ModelOptions(name, classes, width, NormKind.BatchNorm));
                using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
                    new OptimizerOptions(LearningRate: lr, Schedule: new LearningRateSchedule(schedule), TotalSteps: steps), new SingleRankReducer(), new PrecisionOptions(precision));
                var order = new Random(seed);
                double loss = 0, trainSeconds = 0;
                for (int step = 1; step <= steps; step++)
                {
                    var pick = Enumerable.Range(0, batchSize).Select(_ => train.Get(order.Next(train.Count))).ToList();
                    using var batch = SegmentationBatch.Collate(pick, CPU);
                    loss = trainer.Step(batch).Loss;
                    if (!evalAt.Contains(step)) continue;
                    trainSeconds = clock.Elapsed.TotalSeconds;
                    var metrics = Evaluator.Evaluate(model, val, Enumerable.Range(0, val.Count).ToArray(), 16, CPU);
                    miou[(seed, precision, step)] = metrics.MeanIoU;
                    rows.Add(new { seed, precision = PrecisionOptions.Name(precision), step, miou = metrics.MeanIoU, final_loss = loss, train_seconds = trainSeconds });
                    Console.WriteLine($"seed {seed} {PrecisionOptions.Name(precision),-11} step {step,5} mIoU {metrics.MeanIoU:P2} loss {loss:F3} {trainSeconds:F0} s");
                }
            }
            finished.Add(seed);
            Write(finished.Count == seeds.Count);
        }

        static double? Finite(double x) => double.IsFinite(x) ? x : null;  // one seed has no spread; JSON has no NaN

        void Write(bool final)
        {
            var differences = precisions.Where(p => p != PrecisionMode.Fp32).SelectMany(p => evalAt.Select(step =>
            {
                var d = PairedDifference.Of(finished.Select(s => 100 * (miou[(s, p, step)] - miou[(s, PrecisionMode.Fp32, step)])).ToArray());
                if (final)
                    Console.WriteLine($"{PrecisionOptions.Name(p)} − fp32 at step {step}: mean {d.Mean:+0.00;-0.00} points, sd {d.Sd:F2}, " +
                                      $"95% CI [{d.Low95:+0.00;-0.00}, {d.High95:+0.00;-0.00}], per seed [{string.Join(", ", d.Values.Select(x => x.ToString("+0.00;-0.00")))}]");
                return new
                {
                    precision = PrecisionOptions.Name(p), step, minus_fp32_points = d.Values, mean_points = d.Mean, sd_points = Finite(d.Sd),
                    standard_error_points = Finite(d.StandardError), ci95_points = new[] { Finite(d.Low95), Finite(d.High95) },
                };
            })).ToList();
            var fp32Mean = evalAt.Select(step => new { step, mean_miou = finished.Average(s => miou[(s, PrecisionMode.Fp32, step)]) }).ToList();
            BenchJson.Write(output, new
            {
                bench = "amp-miou",
                what = "validation mIoU after the same number of SGD steps per precision, paired by seed (same init and batch order); one CPU worker",
                model = name, width, size, classes, steps, eval_at = evalAt, batch = batchSize, lr, schedule, val = valCount, seeds = finished,
                complete = final,
                onednn_max_cpu_isa = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA"),
                machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
                date = DateTime.UtcNow.ToString("u"),
                fp32_mean_miou = fp32Mean,
                rows, differences,
            });
        }
        Console.WriteLine($"wrote {output}");
        return 0;
    }
}
