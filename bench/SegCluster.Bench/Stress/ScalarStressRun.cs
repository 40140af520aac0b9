using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Bench.Stress;

/// <summary>
/// `scalar-stress-run` (internal, one child of <see cref="ScalarStressBench"/>): trains a tiny model while another
/// thread collects garbage and runs finalizers in a loop, so a temporary TorchSharp Scalar that is unreachable while
/// its native op still reads it gets freed mid-call (docs/platform.md). Prints "step N" after every step;
/// a crash shows as a non-zero exit (libtorch error or signal) after the last printed step.
/// </summary>
public static class ScalarStressRun
{
    public static readonly string[] Options = ["--model", "--label-mode", "--size", "--batch", "--width", "--steps", "--seed"];

    public static int Run(BenchArguments args)
    {
        int size = args.Int("--size", 32), batchSize = args.Int("--batch", 2), steps = args.Int("--steps", 200), seed = args.Int("--seed", 0);
        var mode = Mode(args.Text("--label-mode", "full"));
        set_num_threads(1);

        ISampleSource data = new CachedDatasetSource(
            new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 6, Height: size, Width: size, Count: batchSize * 4, Seed: seed)), cacheBytes: 0);
        if (mode == LabelMode.Scribble) data = new ScribbledSource(data, new ScribbleSynthesizer(6, seed));  // strokes drawn from the full masks
        var batches = Enumerable.Range(0, 4).Select(i => SegmentationBatch.Collate(
            Enumerable.Range(i * batchSize, batchSize).Select(data.Get).ToArray(), CPU)).ToArray();
        random.manual_seed(seed);
        using var model = ModelRegistry.Create(new ModelOptions(args.Text("--model", "spgnet"), NumClasses: 6, Width: args.Int("--width", 8)));
        var loss = new LossOptions(Labels: new LabelOptions(mode));
        ISegmentationCriterion criterion = mode == LabelMode.Scribble
            ? new ScribbleRegularizedCriterion(loss, new ScribbleLossOptions())
            : new SegmentationCriterion(loss);
        using var trainer = new DataParallelTrainer(model, criterion, new OptimizerOptions(), new SingleRankReducer());

        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true, Name = "gc-hammer" };
        collector.Start();
        for (int step = 1; step <= steps; step++)
        {
            trainer.Step(batches[step % batches.Length]);
            Console.WriteLine($"step {step}");
        }
        stop.Cancel();
        collector.Join();
        return 0;
    }

    private static LabelMode Mode(string name) => name switch
    {
        LabelsSpec.SoftCe => LabelMode.SoftCrossEntropy,
        _ when LabelsSpec.Modes.Contains(name) => Enum.Parse<LabelMode>(name.Replace("-", ""), ignoreCase: true),
        _ => throw new ArgumentException($"--label-mode: '{name}' is unknown; use one of {string.Join(", ", LabelsSpec.Modes)}."),
    };
}
