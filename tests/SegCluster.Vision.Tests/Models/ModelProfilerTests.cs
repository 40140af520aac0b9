using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Classification;

namespace SegCluster.Vision.Tests.Models;

public class ModelProfilerTests
{
    [Theory]
    [InlineData(18, 11_689_512, 1.80e9, 1.83e9)]   // torchvision: 1.81 GMACs ("GFLOPS" in its docs)
    [InlineData(50, 25_557_032, 4.07e9, 4.11e9)]   // torchvision: 4.09 GMACs
    public void ClassifierMatchesTheTorchvisionFigures(int depth, long parameters, double minMacs, double maxMacs)
    {
        using var model = new ResNetClassifier(depth);
        var profile = ModelProfiler.Profile(model, 224, 224, outputStride: 32);
        Assert.Equal(parameters, profile.Parameters);
        Assert.InRange(profile.Macs, minMacs, maxMacs);
        Assert.Equal(2 * profile.Macs, profile.Flops);
    }

    [Theory]
    [InlineData("spgnet", "tiny")]
    [InlineData("deeplabv3plus", "resnet18")]
    [InlineData("vit", "tiny")]  // the class token does not scale with the pixels: one scaled probe counted it d² times
    public void TheScaledProbeCountsExactlyWhatAFullSizeForwardCounts(string name, string backbone)
    {
        using var model = ModelRegistry.Create(new ModelOptions(name, 5, 4, Backbone: backbone));
        var scaled = ModelProfiler.Profile(model, 256, 512, model.OutputStride);
        var full = ModelProfiler.Profile(model, 256, 512, model.OutputStride, maxProbeDivisor: 1);
        Assert.Equal(full.Macs, scaled.Macs);
        Assert.Equal(model.ParameterCount, scaled.Parameters);
    }

    /// <summary>The profiler throws when a conv or linear layer ran outside call() (its hooks never fired):
    /// every registered model must invoke its submodules through call().</summary>
    [Theory]
    [MemberData(nameof(RegisteredModels))]
    public void Every_registered_model_can_be_profiled(string name)
    {
        using var model = ModelRegistry.Create(new ModelOptions(name, 5, 4));
        var profile = ModelProfiler.Profile(model, 64, 64, model.OutputStride);
        Assert.True(profile.Macs > 0);
        Assert.Equal(model.ParameterCount, profile.Parameters);
    }

    [Fact]
    public void VitLinearsCountEveryToken()
    {
        // ViT-S/16 at 224²: 12 blocks × 197 tokens × (qkv + proj + 2 MLP) 1,769,472 MACs per token = 4.18 G, plus the
        // patch embedding and the light decoder; timm/fvcore report ≈ 4.25 GMACs for the classifier with attention.
        using var vit = ModelRegistry.Create(new ModelOptions("vit", 21, 64, Backbone: "vit-s"));
        var profile = ModelProfiler.Profile(vit, 224, 224, vit.OutputStride);
        Assert.InRange(profile.Macs, 12 * 197 * 1_769_472.0, 4.4e9);
    }

    public static TheoryData<string> RegisteredModels() => new(ModelRegistry.Names);
}
