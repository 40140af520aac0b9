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
/// PAPERS.md reproduction targets for §4 and §5 at CPU scale (single process, SingleRankReducer):
/// SyntheticScene 48×48, K = 6 (class 5 rare), spgnet Width 16, equal steps and batch per arm
/// (SEGCLUSTER_EXPERIMENT_STEPS / _BATCH / _VAL override 300 / 8 / 192).
/// Numbers are written to the test output and appended to $SEGCLUSTER_EXPERIMENT_LOG when set.
/// </summary>
public sealed class PaperExperiments(ITestOutputHelper output)
{
    private const int Size = 48, Classes = 6, Seed = 7;
    private static readonly int Steps = Setting("SEGCLUSTER_EXPERIMENT_STEPS", 300);
    private static readonly int BatchSize = Setting("SEGCLUSTER_EXPERIMENT_BATCH", 8);
    private static readonly SyntheticSceneDataset Train = new(new SyntheticSceneOptions(Classes, Size, Size, Count: 512, Seed: 1));
    private static readonly SyntheticSceneDataset Val = new(new SyntheticSceneOptions(Classes, Size, Size, Count: Setting("SEGCLUSTER_EXPERIMENT_VAL", 192), Seed: 2));

    [ExperimentFact]
    public void ScribbleRegularisedLossVersusPartialCrossEntropy()
    {
        var scribbles = Enumerable.Range(0, Train.Count).Select(i => ScribbleMaker.Scribble(Train.Get(i))).ToArray();
        double labelled = scribbles.Average(x => x.Label.Count(v => v != 255) / (double)x.Label.Length);
        Report($"§5 scribbles: {labelled:P1} of pixels labelled; {Steps} steps × batch {BatchSize}, spgnet W16, {Size}×{Size}");
        var baseLoss = new LossOptions();
        Run("§5 partial CE only", Model(), new SegmentationCriterion(baseLoss), scribbles);
        Run("§5 partial CE + R dynamic (shallow×deep, consistency head)", new FeatureConsistencyNet(Model(), 16),
            new ScribbleRegularizedCriterion(baseLoss, new ScribbleLossOptions(RgbPerUnit: 59)), scribbles);
        Run("§5 partial CE + R static (rloss kernel)", Model(), new ScribbleRegularizedCriterion(baseLoss, new ScribbleLossOptions(RgbPerUnit: 59, DeepKernel: false)), scribbles);
    }

    [ExperimentFact]
    public void ClassSuppressionVersusPlainOnTheRareClass()
    {
        var full = Enumerable.Range(0, Train.Count).Select(Train.Get).ToArray();
        Report($"§4 full labels; {Steps} steps × batch {BatchSize}, spgnet W16, {Size}×{Size}; rare class {Train.RareClass}");
        Run("§4 plain", Model(), new SegmentationCriterion(new LossOptions()), full);
        var options = new ClassSuppressionOptions(EndEpoch: 1, TotalEpochs: 1, Seed: Seed);
        var wrapped = new ClassSuppressionNet(Model(), options);
        Run("§4 class suppression (uniform)", wrapped, new ClassSuppressionCriterion(new LossOptions(), options), full,
            step => wrapped.Epoch = step / (double)Steps);
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;

    private static SegmentationModel Model()
    {
        random.manual_seed(Seed);
        return ModelRegistry.Create(new ModelOptions("spgnet", Classes, 16, NormKind.BatchNorm));
    }

    private void Run(string name, SegmentationModel model, ISegmentationCriterion criterion, SegmentationSample[] samples, Action<int>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        using (model)
        using (var trainer = new DataParallelTrainer(model, criterion, new OptimizerOptions(LearningRate: 0.02), new SingleRankReducer()))
        {
            var order = new Random(Seed);
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
