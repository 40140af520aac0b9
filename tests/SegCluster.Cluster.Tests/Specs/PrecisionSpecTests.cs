using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>training.precision / training.memory_format: mapped to the policy, defaulted per device.</summary>
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
}
