using System.Diagnostics;
using SegCluster.Bench.Results;
using SegCluster.Vision.Data;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace SegCluster.Bench.Training;

/// <summary>
/// Issue 9 parts 2–3: the framework tax of one training step (the worker's <see cref="DataParallelTrainer"/>
/// at world size 1: global-count loss, flat gradient buffer, reducer seam, flat optimiser and copy-back)
/// against <see cref="BareTorchLoop"/> on the same model, data and seed; then resident memory over many
/// trainer steps (a leak shows as growth). Timed blocks alternate (bare, trainer, bare, …) so machine load
/// drifting during the run hits both sides alike.
/// </summary>
public static class TrainingOverheadBench
{
    public static readonly string[] Options = ["--model", "--size", "--batch", "--steps", "--rounds", "--memory-steps", "--memory-warmup", "--rss-every", "--threads", "--width", "--trim-before-sample", "--trim-every", "--trim-pairs", "--out"];

    public static int Run(BenchArguments args)
    {
        string name = args.Text("--model", "encoder-decoder");
        int size = args.Int("--size", 64), batchSize = args.Int("--batch", 4), steps = args.Int("--steps", 10), rounds = args.Int("--rounds", 3);
        // Allocator caches (glibc arenas, libtorch's CPU pool) fill over the first steps; growth is measured after them.
        int memoryWarmup = args.Int("--memory-warmup", 200);
        int memorySteps = args.Int("--memory-steps", 1000), rssEvery = args.Int("--rss-every", 100), threads = args.Int("--threads", 2);
        // Diagnostic: malloc_trim(0) just before each sample. If growth then disappears, it was freed memory glibc kept, not live memory.
        bool trimBeforeSample = args.Int("--trim-before-sample", 0) != 0;
        // A remedy measured and not adopted (its cost, below): malloc_trim after every N trainer steps in every phase; 0 = never.
        int trimEvery = NativeHeap.IsGlibc ? args.Int("--trim-every", 0) : 0;
        int trimPairs = args.Int("--trim-pairs", 10);
        if (size % SyntheticSceneOptions.OutputStride != 0 || batchSize < 1 || steps < 1 || rounds < 1 || memorySteps < 0 || memoryWarmup < 0 || rssEvery < 1 || trimEvery < 0 || trimPairs < 1)
            throw new ArgumentException($"--size must be a multiple of {SyntheticSceneOptions.OutputStride}; --batch, --steps, --rounds, --rss-every, --trim-pairs ≥ 1; --memory-steps, --memory-warmup, --trim-every ≥ 0.");
        set_num_threads(threads);

        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 6, Height: size, Width: size, Count: batchSize * 8, Seed: 0));
        var batches = Enumerable.Range(0, 8).Select(i => SegmentationBatch.Collate(
            Enumerable.Range(i * batchSize, batchSize).Select(data.Get).ToArray(), CPU)).ToArray();
        var modelOptions = new ModelOptions(name, NumClasses: 6, Width: args.Int("--width", 16));
        random.manual_seed(0);
        using var bareModel = ModelRegistry.Create(modelOptions);
        random.manual_seed(0);
        using var trainerModel = ModelRegistry.Create(modelOptions);
        using var bare = new BareTorchLoop(bareModel);
        using var trainer = new DataParallelTrainer(trainerModel, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());

        var bareSeconds = new List<double>();
        var trainerSeconds = new List<double>();
        var trainerSteps = new List<StepResult>();
        var trimCallSeconds = new List<double>();
        int trainerStepCount = 0;
        int next = 0;
        SegmentationBatch NextBatch() => batches[next++ % batches.Length];
        StepResult TrainerStep()
        {
            var result = trainer.Step(NextBatch());
            if (trimEvery > 0 && ++trainerStepCount % trimEvery == 0) trimCallSeconds.Add(Timed(() => NativeHeap.Trim()));
            return result;
        }
        bare.Step(NextBatch());
        trainer.Step(NextBatch());  // warm-up: JIT, first allocations
        AnsiConsole.Progress().Start(progress =>
        {
            var task = progress.AddTask($"{name} {size}×{size} b{batchSize}: bare vs trainer", maxValue: 2 * rounds * steps);
            for (int round = 0; round < rounds; round++)
            {
                for (int s = 0; s < steps; s++, task.Increment(1)) bareSeconds.Add(Timed(() => bare.Step(NextBatch())));
                for (int s = 0; s < steps; s++, task.Increment(1)) trainerSeconds.Add(Timed(() => trainerSteps.Add(TrainerStep())));
            }
        });

        List<MemorySample> samples = [];
        if (memorySteps > 0)
        {
            for (int s = 0; s < memoryWarmup; s++) TrainerStep();
            AnsiConsole.Progress().Start(progress =>
            {
                var task = progress.AddTask($"resident memory over {memorySteps} trainer steps", maxValue: memorySteps);
                for (int s = 0; s < memorySteps; s++, task.Increment(1))
                {
                    if (s % rssEvery == 0) Sample(s);
                    TrainerStep();
                }
            });
            Sample(memorySteps);
        }

        // Next to resident memory: tensors not yet disposed (a per-step tensor leak grows this), the .NET heap's committed
        // bytes after the latest collection, glibc's in-use and free bytes, threads: which side a step in RSS comes from.
        void Sample(int step)
        {
            if (trimBeforeSample) NativeHeap.Trim();
            samples.Add(MemorySample.Take(step));
        }

        // The cost of trimming every N steps, paired in this process: blocks of N steps that start with a trim (the call and the page
        // faults it causes in the next steps) against blocks of N steps that start N steps after one, in the order
        // ABBA so load drifting over a pair hits both alike; the figure is the median of the pairs' ratios.
        List<double> trimmedBlockSeconds = [], untrimmedBlockSeconds = [];
        if (trimEvery > 0)
            for (int pair = 0; pair < trimPairs; pair++)
            {
                double TrimmedBlock() => Timed(() => { NativeHeap.Trim(); StepsUntrimmed(trimEvery); });
                double UntrimmedBlock() => Timed(() => StepsUntrimmed(trimEvery));
                if (pair % 2 == 0) { trimmedBlockSeconds.Add(TrimmedBlock()); untrimmedBlockSeconds.Add(UntrimmedBlock()); }
                else { untrimmedBlockSeconds.Add(UntrimmedBlock()); trimmedBlockSeconds.Add(TrimmedBlock()); }
            }
        void StepsUntrimmed(int count)
        {
            for (int s = 0; s < count; s++) trainer.Step(NextBatch());
        }

        var rss = samples.Select(m => m.ResidentBytes).ToList();
        var liveTensors = samples.Select(m => m.LiveTensors).ToList();
        var managedCommitted = samples.Select(m => m.ManagedCommittedBytes).ToList();

        double bareMedian = Median(bareSeconds), trainerMedian = Median(trainerSeconds);
        var measurement = new TrainingOverheadMeasurement(name, trainerModel.ParameterCount, size, batchSize, threads, rounds * steps,
            bareMedian, trainerMedian, bareSeconds.Min(), trainerSeconds.Min(),
            Math.Round(trainerMedian / bareMedian, 4), Math.Round(trainerSeconds.Min() / bareSeconds.Min(), 4),
            trainerSteps.Average(r => r.ForwardBackward.TotalSeconds), trainerSteps.Average(r => r.AllReduce.TotalSeconds),
            trainerSteps.Average(r => r.Optimizer.TotalSeconds), memoryWarmup, memorySteps, rssEvery, rss,
            rss.Count > 1 ? Math.Round((double)(rss[^1] - rss[0]) / rss[0], 5) : 0, liveTensors, managedCommitted,
            NativeHeap.Allocator, trimBeforeSample, trimEvery,
            rss.Count > 1 ? Math.Round((double)(rss.Max() - rss[0]) / rss[0], 5) : 0,
            trimmedBlockSeconds.Count > 0 ? Math.Round(Median(trimmedBlockSeconds.Zip(untrimmedBlockSeconds, (t, u) => t / u).ToList()), 4) : null,
            trimmedBlockSeconds, untrimmedBlockSeconds, trimCallSeconds, samples);
        foreach (var b in batches) b.Dispose();

        var table = new Table().AddColumns("", "median s", "min s");
        table.AddRow("bare TorchSharp", $"{bareMedian:F4}", $"{bareSeconds.Min():F4}");
        table.AddRow("DataParallelTrainer", $"{trainerMedian:F4}", $"{trainerSeconds.Min():F4}");
        table.AddRow("ratio", $"{measurement.OverheadRatio:F3}", $"{measurement.OverheadRatioMin:F3}");
        AnsiConsole.Write(table);
        if (rss.Count > 1)
            AnsiConsole.MarkupLine($"resident memory {rss[0] >> 20} MiB → {rss[^1] >> 20} MiB over {memorySteps} steps after {memoryWarmup}: growth {measurement.RssGrowthRatio:P2} (highest sample {measurement.RssMaxGrowthRatio:P2}); " +
                $"live tensors {liveTensors[0]} → {liveTensors[^1]}; .NET heap committed {managedCommitted[0] >> 20} → {managedCommitted[^1] >> 20} MiB");
        var path = BenchResultFile.WriteAsync(args.Text("--out", "bench/results/training-overhead.json"), measurement).GetAwaiter().GetResult();
        if (measurement.TrimStepTimeRatio is { } trimRatio)
            AnsiConsole.MarkupLine($"malloc_trim every {trimEvery} steps: time of {trimEvery} steps with / without a trim {trimRatio:F3} (median of {trimPairs} pairs); " +
                $"one malloc_trim {Median(trimCallSeconds) * 1e3:F2} ms (median of {trimCallSeconds.Count})");
        AnsiConsole.MarkupLine($"wrote {path}");
        return 0;
    }

    private static double Timed(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
