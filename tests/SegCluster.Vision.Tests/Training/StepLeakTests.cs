using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// No tensor outlives its step (STYLE.md: dispose deterministically in every loop). After two warm-up steps (the optimiser's
/// state, the fp16 scale and lazily built buffers exist by then) the training thread's live tensors must not grow over
/// further steps, for every loss, label mode, precision and the two-rank path with buckets and SyncBatchNorm. A tensor left
/// to the GC per step is device memory held until a collection on a GPU, and grows the count here.
/// </summary>
public class StepLeakTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 3, Height: 32, Width: 32, Count: 16, Seed: 3));

    public static TheoryData<string> Cases => ["soft-ce spgnet", "majority bf16 channels_last", "fp16 adamw clipped", "class suppression", "scribble"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_step_leaves_no_tensor_behind(string name)
    {
        var (model, criterion, optimizer, precision) = Case(name);
        using (model)
        using (var trainer = new DataParallelTrainer(model, criterion, optimizer, new SingleRankReducer(), precision))
            Assert.Equal(0, GrowthOverSteps(trainer, rank: 0));
    }

    [Fact]
    public void A_two_rank_step_with_buckets_and_sync_batch_norm_leaves_no_tensor_behind()
    {
        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60));
        var growth = new long[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var model = TestData.Model("spgnet", 3, 8, NormKind.SyncBatchNorm, seed: 1);
            var criterion = new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, Factor: 2)));
            using var trainer = new DataParallelTrainer(model, criterion, new OptimizerOptions(), group[r], bucketMegabytes: 0.1);
            growth[r] = GrowthOverSteps(trainer, rank: r);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal([0L, 0L], growth);
    }

    /// <summary>Live tensors on this thread after two more steps, less those after two warm-up steps.</summary>
    private static long GrowthOverSteps(DataParallelTrainer trainer, int rank)
    {
        void Steps(int first)
        {
            for (int s = first; s < first + 2; s++)
            {
                using var batch = TestData.Batch(Scenes, [2 * rank + 4 * s % 16, 2 * rank + 1 + 4 * s % 16]);
                trainer.Step(batch);
            }
        }
        Steps(0);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Steps(2);
        return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
    }

    private static (SegmentationModel, ISegmentationCriterion, OptimizerOptions, PrecisionOptions) Case(string name) => name switch
    {
        "soft-ce spgnet" => (TestData.Model("spgnet", 3, 8, NormKind.BatchNorm),
            new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, Factor: 2))), new OptimizerOptions(), PrecisionOptions.Fp32),
        "majority bf16 channels_last" => (TestData.Model("deeplabv3plus", 3, 8, NormKind.BatchNorm),
            new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.Majority, Factor: 2))), new OptimizerOptions(),
            new PrecisionOptions(PrecisionMode.Bf16Mixed, MemoryFormat.ChannelsLast)),
        "fp16 adamw clipped" => (TestData.Model("encoder-decoder", 3, 8, NormKind.GroupNorm),
            new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 1e-3, Kind: OptimizerOptions.AdamW, MaxGradientNorm: 1e-3),
            new PrecisionOptions(PrecisionMode.Fp16Mixed)),
        "class suppression" => (new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 8, NormKind.BatchNorm), new ClassSuppressionOptions()),
            new ClassSuppressionCriterion(new LossOptions(), new ClassSuppressionOptions()), new OptimizerOptions(), PrecisionOptions.Fp32),
        "scribble" => (TestData.ScribbleModel(seed: 1), new ScribbleRegularizedCriterion(new LossOptions(), new ScribbleLossOptions(RgbPerUnit: 59)),
            new OptimizerOptions(), PrecisionOptions.Fp32),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
