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

    /// <summary>Every width the spec accepts builds: heads divide the dim (width 28 asked for 3 heads of a 112 dim).</summary>
    [Fact]
    public void EveryCpuWidthHasHeadsThatDivideItsDim()
    {
        for (int width = 4; width <= 512; width++)
        {
            var config = VitConfig.ForWidth(width);
            config.Validate();
            Assert.InRange(config.Heads, 1, Math.Max(1, config.Dim / 32));
        }
        Assert.Equal(2, VitConfig.ForWidth(16).Heads);  // the multiples of 8 keep dim / 32
        Assert.Equal(2, VitConfig.ForWidth(28).Heads);
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
    public void BlockComputesMultiHeadSelfAttentionAsWrittenOut()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        const int dim = 16, heads = 4, tokens = 10;
        using var block = new TransformerBlock(dim, heads, mlpRatio: 2);
        var p = block.named_parameters().ToDictionary(e => e.name, e => e.parameter.detach().to(ScalarType.Float64));
        var x = randn(2, tokens, dim, dtype: ScalarType.Float64);
        Tensor Linear(Tensor t, string name) => nn.functional.linear(t, p[name + ".weight"], p[name + ".bias"]);
        Tensor Norm(Tensor t, string name) => nn.functional.layer_norm(t, [dim], p[name + ".weight"], p[name + ".bias"]);
        // x + proj(softmax(q·kᵀ/√(D/h))·v) per head, then x + fc2(gelu(fc1(LN(x)))): the three-op form in float64.
        var qkv = Linear(Norm(x, "norm1"), "qkv").view(2, tokens, 3, heads, dim / heads).permute(2, 0, 3, 1, 4);
        var attention = qkv[0].matmul(qkv[1].transpose(-2, -1)).div(Math.Sqrt(dim / heads)).softmax(-1).matmul(qkv[2]);
        var expected = x + Linear(attention.transpose(1, 2).reshape(2, tokens, dim), "proj");
        expected = expected + Linear(nn.functional.gelu(Linear(Norm(expected, "norm2"), "fc1")), "fc2");

        var actual = block.forward(x.to(ScalarType.Float32)).to(ScalarType.Float64);

        Assert.True((actual - expected).abs().max().item<double>() < 1e-5, "the block's output differs from the written-out attention");
    }

    [Fact]
    public void HeadsMustDivideTheWidth()
    {
        var error = Assert.Throws<ArgumentException>(() => new VitConfig(30, 1, 4).Validate());
        Assert.Contains("VitConfig.Heads", error.Message);
    }
}
