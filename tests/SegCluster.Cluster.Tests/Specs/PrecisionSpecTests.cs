using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>training.precision / training.memory_format: parsed, validated with the valid choices, defaulted per device.</summary>
public class PrecisionSpecTests
{
    [Fact]
    public void ExplicitSettingsMapToThePolicy()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  precision: bf16-mixed\n  memory_format: channels_last\n", SpecFormat.Yaml);
        Assert.Empty(SpecValidation.Validate(spec));
        Assert.Equal(new PrecisionOptions(PrecisionMode.Bf16Mixed, MemoryFormat.ChannelsLast), SpecMapping.Precision(spec, CPU));
    }

    [Fact]
    public void LeftOutTheyFollowTheDevice()
    {
        var spec = new ExperimentSpec();
        Assert.Equal(PrecisionOptions.Fp32, SpecMapping.Precision(spec, CPU));
        Assert.Equal(new PrecisionOptions(PrecisionMode.Bf16Mixed, MemoryFormat.ChannelsLast), PrecisionOptions.DefaultFor(isCuda: true, computeCapabilityMajor: 9));
        Assert.Equal(new PrecisionOptions(PrecisionMode.Fp16Mixed, MemoryFormat.ChannelsLast), PrecisionOptions.DefaultFor(isCuda: true, computeCapabilityMajor: 7));
    }

    [Theory]
    [InlineData("precision: bf16\n", "training.precision: 'bf16' is unknown; use one of fp32, bf16-mixed, fp16-mixed")]
    [InlineData("memory_format: nhwc\n", "training.memory_format: 'nhwc' is unknown; use one of contiguous, channels_last")]
    public void UnknownNamesListTheValidChoices(string training, string expected)
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  " + training, SpecFormat.Yaml);
        Assert.Contains(SpecValidation.Validate(spec), e => e.StartsWith(expected, StringComparison.Ordinal));
    }
}
