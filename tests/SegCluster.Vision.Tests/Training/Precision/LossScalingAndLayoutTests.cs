using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Precision;

/// <summary>fp16 overflow agreement across ranks, channels_last equivalence, layout-independent checkpoints.</summary>
public sealed class LossScalingAndLayoutTests(ITestOutputHelper output) : IDisposable
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 8, Seed: 7));
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-amp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DataParallelTrainer Trainer(SegmentationModel model, IGradientReducer reducer, PrecisionOptions precision) =>
        new(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.02, Momentum: 0.9), reducer, precision);

    /// <summary>
    /// Rank 0's images at step 1 are scaled by 10^6: fp16 (max 65504) overflows in its first convolution. Only rank 0
    /// sees an inf, yet both ranks skip exactly that step (the summed gradient is non-finite on every rank), both
    /// halve the scale, and both leave parameters and momentum untouched, so the ranks stay identical.
    /// </summary>
    [Fact]
    public void AnFp16OverflowOnOneRankSkipsThatStepOnEveryRankAndHalvesTheScale()
    {
        const int steps = 3, overflowStep = 1;
        var group = new InMemoryReducerGroup(2);
        var results = new StepResult[2, steps];
        var snapshots = new float[2, steps][][];
        var models = new SegmentationModel[2];
        for (int r = 0; r < 2; r++) models[r] = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 6);
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var trainer = Trainer(models[r], group[r], new PrecisionOptions(PrecisionMode.Fp16Mixed));
            for (int s = 0; s < steps; s++)
            {
                using var batch = TestData.Batch(Scenes, [2 * r, 2 * r + 1]);
                if (r == 0 && s == overflowStep) batch.Images.mul_(1e6f);
                results[r, s] = trainer.Step(batch);
                snapshots[r, s] = TestData.Snapshot(models[r]);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int r = 0; r < 2; r++)
        {
            output.WriteLine($"rank {r}: " + string.Join("; ", Enumerable.Range(0, steps).Select(s => $"skipped {results[r, s].Skipped} scale {results[r, s].LossScale}")));
            for (int s = 0; s < steps; s++) Assert.Equal(s == overflowStep, results[r, s].Skipped);
            Assert.Equal(65536.0, results[r, 0].LossScale);
            Assert.Equal(32768.0, results[r, overflowStep].LossScale);
            Assert.Equal(32768.0, results[r, 2].LossScale);
            Assert.Equal(snapshots[r, 0], snapshots[r, overflowStep]);  // the skipped step changed nothing
            Assert.NotEqual(snapshots[r, overflowStep], snapshots[r, 2]);  // the next one trains again
        }
        Assert.Equal(snapshots[0, steps - 1], snapshots[1, steps - 1]);
        foreach (var m in models) m.Dispose();
    }

    /// <summary>
    /// A checkpoint keeps the fp16 loss scale and growth tracker: a run that overflowed down to 2^15 resumes at 2^15 with
    /// the same good-step count (not at GradScaler's 2^16 start), and takes the same next step as the run that went on.
    /// A checkpoint without scaler state (fp32) leaves a resumed fp16 trainer at the start value.
    /// </summary>
    [Fact]
    public void AnFp16RunWhoseGradientsStayNonFiniteStopsAtTheMinimumScale()
    {
        // GradScaler's defaults from 2^16: 16 skipped steps reach the floor of 1; a 17th means even unscaled gradients
        // overflow, and the run stops instead of skipping on (and, once 1/S overflowed, applying NaN updates).
        var scaler = new DynamicLossScaler();
        for (int skip = 1; skip <= 16; skip++)
            Assert.False(scaler.Update(gradientsFinite: false));
        Assert.Equal(1.0, scaler.Scale);

        var diverged = Assert.Throws<TrainingDivergedException>(() => scaler.Update(gradientsFinite: false));
        Assert.Contains("minimum loss scale 1 (17 steps skipped in all)", diverged.Message);
        Assert.True(scaler.Update(gradientsFinite: true));  // a finite step after backing off is still applied
    }

    [Fact]
    public void AResumedFp16RunContinuesAtTheSavedLossScale()
    {
        string path = Path.Combine(_dir, "fp16.ckpt"), fp32Path = Path.Combine(_dir, "fp32.ckpt");
        var fp16 = new PrecisionOptions(PrecisionMode.Fp16Mixed);
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 12);
        using var trainer = Trainer(model, new SingleRankReducer(), fp16);
        for (int s = 0; s < 3; s++)
        {
            using var batch = TestData.Batch(Scenes, [0, 1]);
            if (s == 1) batch.Images.mul_(1e6f);  // overflows fp16: skipped, scale halved
            trainer.Step(batch);
        }
        var saved = trainer.Precision.Scaler!.State;
        Assert.Equal(new LossScalerState(32768.0, GoodSteps: 1, SkippedSteps: 1), saved);
        CheckpointStore.Save(path, trainer);

        using var resumedModel = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 13);
        using var resumed = Trainer(resumedModel, new SingleRankReducer(), fp16);
        CheckpointStore.Load(path, resumed);
        Assert.Equal(saved, resumed.Precision.Scaler!.State);
        using (var next = TestData.Batch(Scenes, [2, 3]))
            Assert.Equal(trainer.Step(next).LossScale, resumed.Step(next).LossScale);
        Assert.Equal(TestData.Snapshot(model), TestData.Snapshot(resumedModel));

        using var fp32Model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 14);
        using var fp32Trainer = Trainer(fp32Model, new SingleRankReducer(), PrecisionOptions.Fp32);
        CheckpointStore.Save(fp32Path, fp32Trainer);
        Assert.Null(CheckpointStore.ReadMetadata(fp32Path).LossScaler);
        using var fromFp32 = Trainer(TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 15), new SingleRankReducer(), fp16);
        CheckpointStore.Load(fp32Path, fromFp32);
        Assert.Equal(65536.0, fromFp32.Precision.Scaler!.Scale);
        fromFp32.Model.Dispose();
    }

    /// <remarks>Tolerance 1e-4 absolute: the two layouts run different convolution kernels (summation orders), whose
    /// float32 results differ by ~1e-6 per layer (measured per layer: at most 1.1e-5 at DeepLabV3+'s ASPP output);
    /// two SGD steps at lr 0.02 keep parameter differences far below 1e-4. DeepLabV3+ failed this until convolutions
    /// that libtorch's CPU computes wrongly in channels_last (its 38-channel 3×3 fusion conv) were kept NCHW.</remarks>
    [Theory]
    [InlineData("spgnet")]
    [InlineData("deeplabv3plus")]
    public void ChannelsLastTrainsLikeContiguousAndKeepsTheFormatThroughTheStep(string name)
    {
        // BatchNorm: GroupNorm's per-channel groups on DeepLab's 1×1 pooled ASPP branch have zero variance, so they
        // would amplify the kernels' last-bit differences by 1/sqrt(eps) ≈ 316
        using var contiguous = TestData.Model(name, 4, 8, NormKind.BatchNorm, seed: 8);
        using var nhwc = TestData.Model(name, 4, 8, NormKind.BatchNorm, seed: 8);
        using var batch = TestData.Batch(Scenes, [0, 1, 2, 3]);
        using var a = Trainer(contiguous, new SingleRankReducer(), PrecisionOptions.Fp32);
        using var b = Trainer(nhwc, new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp32, MemoryFormat.ChannelsLast));

        var firstConv = nhwc.modules().OfType<TorchSharp.Modules.Conv2d>().First();
        bool? outputChannelsLast = null;
        var hook = firstConv.register_forward_hook((_, _, y) => { outputChannelsLast = ChannelsLastLayout.IsChannelsLast(y); return y; });
        for (int s = 0; s < 2; s++)
            Assert.Equal(a.Step(batch).Loss, b.Step(batch).Loss, 1e-4);
        hook.remove();

        Assert.True(outputChannelsLast, "the first convolution's output lost the channels_last strides");
        var nchw = b.Precision.ContiguousConvolutions;
        output.WriteLine($"kept NCHW: {string.Join(", ", nchw)}");
        Assert.All(nhwc.named_modules().Where(m => m.module is TorchSharp.Modules.Conv2d && !nchw.Contains(m.name)),
            m => Assert.True(ChannelsLastLayout.IsChannelsLast(((TorchSharp.Modules.Conv2d)m.module).weight), $"conv weight {m.name} lost channels_last in the update"));
        double difference = PrecisionTestMath.MaxAbsDifference(TestData.Snapshot(contiguous), TestData.Snapshot(nhwc));
        output.WriteLine($"max |contiguous − channels_last| after 2 steps: {difference:E2}");
        Assert.True(difference < 1e-4, $"channels_last parameters differ from contiguous by {difference:E2}");
    }

    [Fact]
    public void ACheckpointMovesBetweenChannelsLastAndContiguousModels()
    {
        using var batch = TestData.Batch(Scenes, [0, 1]);
        string fromNhwc = Path.Combine(_dir, "nhwc.ckpt"), fromNchw = Path.Combine(_dir, "nchw.ckpt");
        using var source = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 9);
        using var sourceTrainer = Trainer(source, new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp32, MemoryFormat.ChannelsLast));
        sourceTrainer.Step(batch);
        CheckpointStore.Save(fromNhwc, sourceTrainer);

        using var contiguous = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 10);
        using var contiguousTrainer = Trainer(contiguous, new SingleRankReducer(), PrecisionOptions.Fp32);
        CheckpointStore.Load(fromNhwc, contiguousTrainer);
        AssertSameOutputs(source, contiguous, batch.Images);
        CheckpointStore.Save(fromNchw, contiguousTrainer);

        using var back = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 11);
        using var backTrainer = Trainer(back, new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp32, MemoryFormat.ChannelsLast));
        CheckpointStore.Load(fromNchw, backTrainer);
        Assert.All(back.named_modules().Where(m => m.module is TorchSharp.Modules.Conv2d && !backTrainer.Precision.ContiguousConvolutions.Contains(m.name)),
            m => Assert.True(ChannelsLastLayout.IsChannelsLast(((TorchSharp.Modules.Conv2d)m.module).weight)));
        AssertSameOutputs(source, back, batch.Images);
    }

    /// <summary>A channels_last checkpoint goes through a contiguous twin, whose random initialisation drew from torch's
    /// process-wide generator: a rank writing one moved the draws of a seeded build on another thread (the same seed
    /// no longer gave the same run). Writing and reading one now leaves the generator where it was.</summary>
    [Fact]
    public void WritingAndReadingAChannelsLastCheckpointLeavesTheGlobalGeneratorAlone()
    {
        string path = Path.Combine(_dir, "generator.ckpt");
        using var model = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 14);
        using var trainer = Trainer(model, new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp32, MemoryFormat.ChannelsLast));
        random.manual_seed(21);
        using var expected = rand(8);

        random.manual_seed(21);
        CheckpointStore.Save(path, trainer);
        CheckpointStore.Load(path, trainer);
        using var drawn = rand(8);

        Assert.Equal(expected.data<float>().ToArray(), drawn.data<float>().ToArray());
    }

    /// <summary>
    /// A wrapper's own weights (the §4 suppression branch, the §5 projection) travel with a channels_last checkpoint. Its
    /// contiguous twin was the inner model alone, and the copy paired parameter lists positionally: the file held the
    /// inner model's keys, eval refused it ("expected 189, but found 182 entries") and a resume kept random wrapper weights.
    /// </summary>
    [Theory]
    [InlineData("class-suppression")]
    [InlineData("feature-consistency")]
    public void AChannelsLastCheckpointOfAWrappedModelKeepsTheWrappersWeights(string wrapper)
    {
        string path = Path.Combine(_dir, $"{wrapper}.ckpt");
        using var source = Wrap(wrapper, TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 12));
        using var trainer = Trainer(source, new SingleRankReducer(), new PrecisionOptions(PrecisionMode.Fp32, MemoryFormat.ChannelsLast));
        CheckpointStore.Save(path, trainer);

        using var loaded = Wrap(wrapper, TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 13));
        CheckpointStore.LoadWeights(path, loaded);  // eval and predict load this way, into a contiguous model

        Assert.Equal(source.state_dict().Keys, loaded.state_dict().Keys);
        Assert.Equal(TestData.Snapshot(source), TestData.Snapshot(loaded));
    }

    private static SegmentationModel Wrap(string wrapper, SegmentationModel inner) => wrapper switch
    {
        "class-suppression" => new Vision.Models.Debiasing.ClassSuppressionNet(inner, new Vision.Models.Debiasing.ClassSuppressionOptions()),
        _ => new Vision.Models.Scribbles.FeatureConsistencyNet(inner, embeddingChannels: 8),
    };

    private static void AssertSameOutputs(SegmentationModel expected, SegmentationModel actual, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        expected.eval();
        actual.eval();
        Assert.Equal(TestData.Snapshot(expected), TestData.Snapshot(actual));  // exact: values in logical order
        Assert.Equal(expected.buffers().Select(b => b.to(ScalarType.Float64).cpu().data<double>().ToArray()), actual.buffers().Select(b => b.to(ScalarType.Float64).cpu().data<double>().ToArray()));
        var e = expected.call(images).Logits;
        var difference = (e - actual.call(images).Logits).abs().max().item<float>() / e.abs().max().item<float>();
        Assert.True(difference < 1e-4, $"logits differ by {difference:E2} (relative to their largest) after the checkpoint moved between layouts");
    }
}
