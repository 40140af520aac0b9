using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Backbones;

public class VisionTransformerTests
{
    [Theory]
    [InlineData(32, 32)]
    [InlineData(48, 64)]
    public void VitModelLogitsMatchTheInputSizeAndBackwardRuns(int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = TestData.Model("vit", numClasses: 4, width: 8, NormKind.GroupNorm);
        Assert.Equal(16, model.OutputStride);
        var images = randn(2, 3, h, w);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 4, h, w }, output.Logits.shape);
        Assert.Equal(new long[] { 2, 16, h / 16, w / 16 }, output.Feature!.shape);  // stride-16 feature for the head
        var labels = randint(0, 4, [2, h, w], dtype: ScalarType.Int64);
        new SegmentationCriterion(new LossOptions()).Forward(output, labels).backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "a parameter got no gradient"));
    }

    [Fact]
    public void EncoderReturnsAStride16MapAtThePublishedGridAndOthers()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var encoder = new VisionTransformer(new VitConfig(32, 1, 2, ImageSize: 64));
        Assert.Equal(new long[] { 1, 32, 4, 4 }, encoder.forward(randn(1, 3, 64, 64)).shape);  // stored position grid
        Assert.Equal(new long[] { 1, 32, 2, 5 }, encoder.forward(randn(1, 3, 32, 80)).shape);  // interpolated grid
    }

    [Theory]
    [InlineData("small", 22_050_664L)]   // timm vit_small_patch16_224, 1000-way head included
    [InlineData("base", 86_567_656L)]    // timm vit_base_patch16_224 (the paper's ≈ 86M)
    public void ParameterCountsMatchThePublishedViTs(string name, long published)
    {
        var config = name == "small" ? VitConfig.Small : VitConfig.Base;
        using var encoder = new VisionTransformer(config);
        long encoderCount = encoder.parameters().Sum(p => p.numel());
        long classifier = config.Dim * 1000L + 1000;  // the ImageNet head an encoder for segmentation omits
        Assert.Equal(published, encoderCount + classifier);
    }

    [Fact]
    public void HeadsMustDivideTheWidth()
    {
        var error = Assert.Throws<ArgumentException>(() => new VitConfig(30, 1, 4).Validate());
        Assert.Contains("VitConfig.Heads", error.Message);
    }
}
