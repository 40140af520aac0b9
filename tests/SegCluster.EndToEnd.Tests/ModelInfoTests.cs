using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster model info` prints parameters and GFLOPs; bad names list the valid ones.</summary>
public sealed class ModelInfoTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_resnet50_classifier_has_torchvisions_size()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "model", "info", "--model", "classifier", "--backbone", "resnet50", "--classes", "1000", "--size", "224x224");
        Assert.True(exit == 0, stderr);
        Assert.Contains("params 25.56M", stdout);
        Assert.Contains("GMACs 4.089", stdout);  // torchvision: 4.09
    }

    /// <summary>With no options, the network a spec with nothing set trains, at that spec's crop (it was ResNet-50 at width 64,
    /// 19 classes and 1024x2048, which no default spec trains); each option overrides its field of that spec.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("--backbone resnet18 --width 8 --classes 19 --size 32x64")]
    public async Task Its_defaults_are_the_network_a_default_spec_trains(string arguments)
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["model", "info", .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.True(exit == 0, stderr);

        var spec = new ExperimentSpec();
        if (arguments.Length > 0)
            spec = spec with { Model = spec.Model with { Backbone = "resnet18", Width = 8 }, Dataset = spec.Dataset with { NumClasses = 19, Height = 32, Width = 64 } };
        using var net = SpecMapping.BuildModel(spec);
        var profile = ModelProfiler.Profile(net, spec.Dataset.Height, spec.Dataset.Width, net.OutputStride);
        Assert.Equal($"{spec.Model.Name} ({spec.Model.Backbone}, width {spec.Model.Width}, {spec.Dataset.NumClasses} classes)  {profile}", stdout.Trim());
    }

    [Theory]
    [InlineData("--model segformer", "spgnet, encoder-decoder, deeplabv3plus, unet, dan")]
    [InlineData("--backbone resnet152", "tiny, resnet18, resnet34, resnet50, resnet101")]
    [InlineData("--size big", "--size")]
    // Were libtorch's native stack trace.
    [InlineData("--size 0", "--size '0': each side must be at least 1 and at most 8192.")]
    [InlineData("--size 100000x100000", "--size '100000x100000': each side must be at least 1 and at most 8192.")]
    // Was the profiler's "size 50x50 is not divisible by the output stride 16", naming neither the option nor a size that fits.
    [InlineData("--size 50", "--size '50': each side must be a multiple of 16 from 16 to 8192 (nearest: 48x48); the output stride of this network is 16.")]
    // --image-size, quickstart's name for it, is taken too.
    [InlineData("--image-size 50x64 --backbone resnet18", "--size '50x64': each side must be a multiple of 32 from 32 to 8192 (nearest: 64x64)")]
    [InlineData("--classes 1", "--classes 1 is too few")]
    [InlineData("--classes 300", "--classes 300 is too many for segmentation")]
    [InlineData("--width 0", "--width 0 is out of range; use 4 to 1024")]
    // Names the CLI's options, not ModelOptions' fields: the combination is checked before the model is built.
    [InlineData("--model vit --backbone resnet50", "--backbone resnet50 is not a backbone of --model vit; use one of tiny, vit-s, vit-b.")]
    [InlineData("--model classifier", "--model classifier needs a ResNet --backbone (resnet18, resnet34, resnet50, resnet101); tiny is the default.")]
    [InlineData("--model spgnet --backbone vit-s", "--backbone vit-s is not a backbone of --model spgnet; use one of tiny, resnet18")]
    [InlineData("--backbone resnet50 --output-stride 7", "--output-stride 7 is not supported by --backbone resnet50; use one of 32, 16, 8")]
    public async Task Bad_options_name_the_valid_values(string arguments, string expectedInMessage)
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["model", "info", .. arguments.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expectedInMessage, stdout + stderr);
        Assert.DoesNotContain("ModelOptions", stdout + stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }
}
