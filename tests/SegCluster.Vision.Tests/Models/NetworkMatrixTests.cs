using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>The encoder × decoder sweep (STYLE.md, segmentation_models.pytorch): tiny inputs, narrow widths.</summary>
public class NetworkMatrixTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 8, Seed: 11));

    [Theory]
    [InlineData("deeplabv3plus", "tiny", null)]
    [InlineData("deeplabv3plus", "resnet18", null)]
    [InlineData("deeplabv3plus", "resnet50", 8)]
    [InlineData("unet", "tiny", null)]
    [InlineData("unet", "resnet34", 32)]
    [InlineData("dan", "tiny", null)]
    [InlineData("dan", "resnet18", 16)]
    [InlineData("dan", "resnet101", 32)]
    public void LogitsMatchTheInputSizeAndBackwardRuns(string name, string backbone, int? outputStride)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4, Backbone: backbone, OutputStride: outputStride));
        var output = model.forward(randn(2, 3, 64, 96));
        Assert.Equal(new long[] { 2, 3, 64, 96 }, output.Logits.shape);
        var labels = randint(0, 3, [2, 64, 96], dtype: ScalarType.Int64);
        new SegmentationCriterion(new LossOptions()).Forward(output, labels).backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));
    }

    [Fact]
    public void DeepLabUsesThePaperRates()
    {
        Assert.Equal([6, 12, 18], SegCluster.Vision.Models.Decoders.AtrousSpatialPyramidPooling.Rates(16));
        Assert.Equal([12, 24, 36], SegCluster.Vision.Models.Decoders.AtrousSpatialPyramidPooling.Rates(8));
        using var model = ModelRegistry.Create(new ModelOptions("deeplabv3plus", 3, 4, Backbone: "resnet18"));
        Assert.Equal(16, model.OutputStride);  // DeepLab's default for ResNets
    }

    [Theory]
    [InlineData("deeplabv3plus")]
    [InlineData("unet")]
    [InlineData("dan")]
    public void TrainingLowersTheLossOnAFixedBatch(string name)
    {
        using var model = TestData.Model(name, 4, 8, NormKind.GroupNorm);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.05), new SingleRankReducer());
        using var batch = TestData.Batch(Scenes, [0, 1, 2, 3]);
        double first = trainer.Step(batch).Loss, last = first;
        for (int i = 0; i < 7; i++) last = trainer.Step(batch).Loss;
        Assert.True(last < 0.9 * first, $"loss {first} → {last}");
    }
}
