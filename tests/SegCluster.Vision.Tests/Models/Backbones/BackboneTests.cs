using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Classification;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Backbones;

public class BackboneTests
{
    [Theory]
    [InlineData(18, 11_689_512)]
    [InlineData(34, 21_797_672)]
    [InlineData(50, 25_557_032)]
    [InlineData(101, 44_549_160)]
    public void ClassifierParameterCountsMatchTorchvision(int depth, long expected)
    {
        using var model = new ResNetClassifier(depth, numClasses: 1000);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
        // torchvision's key layout: no "backbone." prefix, fc last.
        var keys = model.state_dict().Keys.ToList();
        Assert.Equal("conv1.weight", keys[0]);
        Assert.Contains(depth >= 50 ? "layer4.2.conv3.weight" : "layer4.1.conv2.weight", keys);
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("fc.bias", keys);
    }

    [Theory]
    [InlineData("resnet18", 32, new[] { 4, 8, 16, 32 })]
    [InlineData("resnet18", 16, new[] { 4, 8, 16, 16 })]
    [InlineData("resnet50", 8, new[] { 4, 8, 8, 8 })]
    [InlineData("tiny", null, new[] { 2, 4, 8, 16 })]
    public void FeaturesHaveTheDeclaredChannelsAndStrides(string name, int? outputStride, int[] strides)
    {
        using var scope = NewDisposeScope();
        using var encoder = BackboneRegistry.Create(name, width: 8, NormKind.BatchNorm, outputStride);
        Assert.Equal(strides, encoder.Strides);
        Assert.Equal(strides[^1], encoder.OutputStride);
        var features = encoder.forward(randn(1, 3, 64, 64));
        Assert.Equal(4, features.Count);
        for (int l = 0; l < 4; l++)
            Assert.Equal(new long[] { 1, encoder.Channels[l], 64 / strides[l], 64 / strides[l] }, features[l].shape);
    }

    [Fact]
    public void UnknownBackboneListsEveryValidName()
    {
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions(Backbone: "resnet152").Validate());
        Assert.Equal("Backbone", error.ParamName);
        foreach (var name in BackboneRegistry.Names) Assert.Contains(name, error.Message);
    }

    [Fact]
    public void UnsupportedOutputStrideSaysWhichToSet()
    {
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions(Backbone: "tiny", OutputStride: 8).Validate());
        Assert.Equal("OutputStride", error.ParamName);
        Assert.Contains("set it to one of 16", error.Message);
    }

    [Theory]
    [InlineData("spgnet", "resnet18", 32)]
    [InlineData("spgnet", "resnet50", 16)]
    [InlineData("encoder-decoder", "resnet34", 8)]
    public void SegmentationModelsRunOnResNetBackbones(string model, string backbone, int outputStride)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        using var net = ModelRegistry.Create(new ModelOptions(model, NumClasses: 4, Width: 4, Backbone: backbone, OutputStride: outputStride));
        Assert.Equal(outputStride, net.OutputStride);
        var output = net.forward(randn(2, 3, 64, 64));
        Assert.Equal(new long[] { 2, 4, 64, 64 }, output.Logits.shape);
        if (model == "spgnet") Assert.Equal(new long[] { 2, 4, 16, 16 }, Assert.Single(output.Auxiliary).shape);  // P at stride 4
        var labels = randint(0, 4, [2, 64, 64], dtype: ScalarType.Int64);
        new SegmentationCriterion(new LossOptions()).Forward(output, labels).backward();
        Assert.All(net.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));
    }

    [Theory]
    [InlineData(false, true, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    public void SpgAblationSwitchesChangeTheModel(bool supervision, bool sigmoid, bool identity)
    {
        using var scope = NewDisposeScope();
        var images = randn(1, 3, 32, 32);
        random.manual_seed(5);
        using var full = ModelRegistry.Create(new ModelOptions(Width: 4));
        random.manual_seed(5);
        using var ablated = ModelRegistry.Create(new ModelOptions(Width: 4, SpgSupervision: supervision, SpgSigmoid: sigmoid, SpgIdentity: identity));
        full.eval();
        ablated.eval();
        var a = full.forward(images);
        var b = ablated.forward(images);
        Assert.Equal(supervision ? 1 : 0, b.Auxiliary.Count);
        if (supervision) Assert.False(a.Logits.allclose(b.Logits), "switching an SPG step off must change the logits");
        else Assert.True(a.Logits.allclose(b.Logits), "supervision only decides whether P is returned");
    }
}
