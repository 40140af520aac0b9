using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Precision;

/// <summary>
/// Decoder truncation (PAPERS.md §2) under mixed precision: libtorch's rfft2 rejects bf16 input, and autocast runs the
/// FFT ops in fp32. Without norms the CPU conv before the truncation returns its output rounded to the low precision,
/// which is what the truncation would otherwise be handed.
/// </summary>
public class SpectralTruncationPrecisionTests(ITestOutputHelper output)
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 4, Seed: 5));

    [Theory]
    [InlineData("deeplabv3plus", PrecisionMode.Bf16Mixed)]
    [InlineData("deeplabv3plus", PrecisionMode.Fp16Mixed)]
    [InlineData("spgnet", PrecisionMode.Bf16Mixed)]
    public void ATruncatedDecoderTrainsAStepWithAFiniteLoss(string name, PrecisionMode precision)
    {
        random.manual_seed(8);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 4, Width: 8, NormKind.None, DecoderTruncation: 0.5));
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: 0.01), new SingleRankReducer(), new PrecisionOptions(precision));
        using var batch = TestData.Batch(Scenes, [0, 1]);

        var step = trainer.Step(batch);

        output.WriteLine($"{name} {precision}: loss {step.Loss:F4}, skipped {step.Skipped}");
        Assert.True(double.IsFinite(step.Loss), $"loss {step.Loss}");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }
}
