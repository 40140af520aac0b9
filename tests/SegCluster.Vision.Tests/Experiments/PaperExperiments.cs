using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Models.Scribbles;
using SegCluster.Vision.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Experiments;

/// <summary>
/// PAPERS.md reproduction targets for §1, §4 and §5 at CPU scale (single process, SingleRankReducer):
/// SyntheticScene 48×48, K = 6 (class 5 rare), spgnet Width 16, equal steps and batch per arm
/// (SEGCLUSTER_EXPERIMENT_STEPS / _BATCH / _VAL / _LR / _SEEDS override 300 / 8 / 192 / 0.02 / 7;
/// _ARMS picks arms by name, e.g. "spgnet,ce,static").
/// Numbers are written to the test output and appended to $SEGCLUSTER_EXPERIMENT_LOG when set.
/// </summary>
public sealed class PaperExperiments(ITestOutputHelper output)
{
    private const int Size = 48, Classes = 6;
    private static readonly int Steps = Setting("SEGCLUSTER_EXPERIMENT_STEPS", 300);
    private static readonly int BatchSize = Setting("SEGCLUSTER_EXPERIMENT_BATCH", 8);
    private static readonly double LearningRate = Setting("SEGCLUSTER_EXPERIMENT_LR", 0.02);
    /// <summary>Each seed fixes the model's initialisation and the batch order of every arm.</summary>
    private static readonly int[] Seeds = List("SEGCLUSTER_EXPERIMENT_SEEDS", "7").Select(int.Parse).ToArray();
    private static readonly SyntheticSceneDataset Train = new(new SyntheticSceneOptions(Classes, Size, Size, Count: 512, Seed: 1));
    private static readonly SyntheticSceneDataset Val = new(new SyntheticSceneOptions(Classes, Size, Size, Count: Setting("SEGCLUSTER_EXPERIMENT_VAL", 192), Seed: 2));

    [ExperimentFact]
    public void SpgNetVersusItsOneStageCounterpart()
    {
        var full = Enumerable.Range(0, Train.Count).Select(Train.Get).ToArray();
        Report($"§1 full labels; {Steps} steps × batch {BatchSize}, W16 tiny backbone, {Size}×{Size}, lr {LearningRate}");
        foreach (int seed in Seeds)
            foreach (var name in Arms(["spgnet", "encoder-decoder"]))
                Run($"§1 {name} seed {seed}", Model(seed, name), new SegmentationCriterion(new LossOptions()), full, seed);
    }

    /// <summary>§5 arms: partial CE, then R static and dynamic for each λ of SEGCLUSTER_EXPERIMENT_LAMBDAS
    /// (σ_xy from SEGCLUSTER_EXPERIMENT_SIGMA_XY, partial-CE warm-up of SEGCLUSTER_EXPERIMENT_WARMUP steps).</summary>
    [ExperimentFact]
    public void ScribbleRegularisedLossVersusPartialCrossEntropy()
    {
        var scribbles = Enumerable.Range(0, Train.Count).Select(i => ScribbleMaker.Scribble(Train.Get(i))).ToArray();
        double labelled = scribbles.Average(x => x.Label.Count(v => v != 255) / (double)x.Label.Length);
        int warmup = Setting("SEGCLUSTER_EXPERIMENT_WARMUP", 0);
        double sigmaXy = Setting("SEGCLUSTER_EXPERIMENT_SIGMA_XY", 100.0);
        var lambdas = List("SEGCLUSTER_EXPERIMENT_LAMBDAS", "8.6").Select(double.Parse).ToArray();
        Report($"§5 scribbles: {labelled:P1} of pixels labelled; {Steps} steps × batch {BatchSize}, spgnet W16, {Size}×{Size}, " +
               $"lr {LearningRate}, σ_xy {sigmaXy}, warm-up {warmup} steps");
        // Scribble mode, as the product trains scribbles: the SPG auxiliaries take the majority of each cell's strokes.
        var baseLoss = new LossOptions(Labels: new SegCluster.Vision.Labels.LabelOptions(SegCluster.Vision.Labels.LabelMode.Scribble, 1));
        foreach (int seed in Seeds)
        {
            if (Arms(["ce"]).Any())
                Run($"§5 partial CE only seed {seed}", Model(seed), new SegmentationCriterion(baseLoss), scribbles, seed);
            foreach (double lambda in lambdas)
            {
                var scribble = new ScribbleLossOptions(Weight: lambda, SigmaXy: sigmaXy, RgbPerUnit: 59, WarmupSteps: warmup);
                if (Arms(["static"]).Any())
                {
                    var staticLoss = new ScribbleRegularizedCriterion(baseLoss, scribble with { DeepKernel = false });
                    Run($"§5 partial CE + R static λ {lambda} seed {seed}", Model(seed), staticLoss, scribbles, seed, step => staticLoss.Step = step);
                }
                if (Arms(["dynamic"]).Any())
                {
                    var dynamicLoss = new ScribbleRegularizedCriterion(baseLoss, scribble);
                    Run($"§5 partial CE + R dynamic λ {lambda} seed {seed}", new FeatureConsistencyNet(Model(seed), 16), dynamicLoss, scribbles, seed,
                        step => dynamicLoss.Step = step);
                }
            }
        }
    }

    [ExperimentFact]
    public void ClassSuppressionVersusPlainOnTheRareClass()
    {
        var full = Enumerable.Range(0, Train.Count).Select(Train.Get).ToArray();
        Report($"§4 full labels; {Steps} steps × batch {BatchSize}, spgnet W16, {Size}×{Size}; rare class {Train.RareClass}");
        foreach (int seed in Seeds)
        {
            Run($"§4 plain seed {seed}", Model(seed), new SegmentationCriterion(new LossOptions()), full, seed);
            var options = new ClassSuppressionOptions(EndEpoch: 1, TotalEpochs: 1, Seed: seed);
            var wrapped = new ClassSuppressionNet(Model(seed), options);
            Run($"§4 class suppression (uniform) seed {seed}", wrapped, new ClassSuppressionCriterion(new LossOptions(), options), full, seed,
                step => wrapped.Epoch = step / (double)Steps);
        }
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;

    private static double Setting(string name, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static string[] List(string name, string fallback) =>
        (Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The arms among <paramref name="names"/> that SEGCLUSTER_EXPERIMENT_ARMS selects (all when unset).</summary>
    private static IEnumerable<string> Arms(string[] names) =>
        Environment.GetEnvironmentVariable("SEGCLUSTER_EXPERIMENT_ARMS") is { Length: > 0 } arms
            ? names.Where(n => arms.Split(',').Contains(n))
            : names;

    private static SegmentationModel Model(int seed, string name = "spgnet")
    {
        random.manual_seed(seed);
        return ModelRegistry.Create(new ModelOptions(name, Classes, 16, NormKind.BatchNorm));
    }

    private void Run(string name, SegmentationModel model, ISegmentationCriterion criterion, SegmentationSample[] samples, int seed, Action<int>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        using (model)
        using (var trainer = new DataParallelTrainer(model, criterion, new OptimizerOptions(LearningRate: LearningRate), new SingleRankReducer()))
        {
            var order = new Random(seed);
            double loss = 0;
            for (int step = 0; step < Steps; step++)
            {
                progress?.Invoke(step);
                var pick = Enumerable.Range(0, BatchSize).Select(_ => samples[order.Next(samples.Length)]).ToList();
                using var batch = SegmentationBatch.Collate(pick, CPU);
                loss = trainer.Step(batch).Loss;
            }
            var metrics = Evaluator.Evaluate(model, Val, Enumerable.Range(0, Val.Count).ToArray(), 16, CPU);
            Report($"{name}: mIoU {metrics.MeanIoU:P1}, rare-class IoU {metrics.ClassIoU[Val.RareClass]:P1}, " +
                   $"per class [{string.Join(", ", metrics.ClassIoU.Select(v => v.ToString("F3")))}], final loss {loss:F3}, {clock.Elapsed.TotalSeconds:F0} s");
        }
    }

    private void Report(string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("SEGCLUSTER_EXPERIMENT_LOG") is { Length: > 0 } path)
            File.AppendAllText(path, line + Environment.NewLine);
    }
}
