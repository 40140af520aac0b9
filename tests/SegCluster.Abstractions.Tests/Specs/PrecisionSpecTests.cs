using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>training.precision / training.memory_format: unknown names are refused with the valid choices.</summary>
public sealed class PrecisionSpecTests
{
    [Theory]
    [InlineData("precision: bf16\n", "training.precision: 'bf16' is unknown; use one of fp32, bf16-mixed, fp16-mixed")]
    [InlineData("memory_format: nhwc\n", "training.memory_format: 'nhwc' is unknown; use one of contiguous, channels_last")]
    public void UnknownNamesListTheValidChoices(string training, string expected)
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  " + training, SpecFormat.Yaml);
        Assert.Contains(SpecValidation.Validate(spec), e => e.StartsWith(expected, StringComparison.Ordinal));
    }
}
