using System.Diagnostics;
using System.Text.Json;
using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Bench.LabelGrid;

/// <summary>
/// Child process of <see cref="LabelGridBench"/>: trains one model at one label grid factor (soft-CE labels,
/// the network's decoder stopping at the grid, PAPERS.md §2/§3) for a few steps on the synthetic set and
/// prints one <see cref="LabelGridMeasurement"/> as the last stdout line. One process per configuration, so
/// the peak resident memory belongs to that configuration alone.
/// </summary>
public static class LabelGridRun
{
    public static readonly string[] Options = ["--model", "--factor", "--size", "--batch", "--steps", "--width", "--threads"];

    public static int Run(BenchArguments args)
    {
        string name = args.Text("--model", "spgnet");
        int factor = args.Int("--factor", 1), size = args.Int("--size", 128), batchSize = args.Int("--batch", 8);
        int steps = args.Int("--steps", 10), width = args.Int("--width", 16);
        set_num_threads(args.Int("--threads", 2));
        random.manual_seed(0);

        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 6, Height: size, Width: size, Count: batchSize * (steps + 1), Seed: 0));
        var samples = Enumerable.Range(0, data.Count).Select(data.Get).ToArray();
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: width, LogitFactor: factor));
        var labels = factor == 1 ? new LabelOptions() : new LabelOptions(LabelMode.SoftCrossEntropy, factor);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions(Labels: labels)), new OptimizerOptions(), new SingleRankReducer());

        int[] logitGrid = [size / factor, size / factor];  // training logits (LabelGridLogitsTests asserts the shape)

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ProcessMemory.ResidentBytes();
        var times = new List<double>();
        for (int step = 0; step <= steps; step++)
        {
            using var batch = SegmentationBatch.Collate(samples[(step * batchSize)..((step + 1) * batchSize)], CPU);
            var clock = Stopwatch.StartNew();
            trainer.Step(batch);
            if (step > 0) times.Add(clock.Elapsed.TotalSeconds);  // step 0 warms up
        }
        long peak = ProcessMemory.PeakResidentBytes();
        var measurement = new LabelGridMeasurement(name, factor, logitGrid, model.ParameterCount, before, peak, peak - before,
            times.Average(), times.Min(), times.Count);
        Console.WriteLine(JsonSerializer.Serialize(measurement, BenchJson.Options).ReplaceLineEndings(" "));
        return 0;
    }
}
