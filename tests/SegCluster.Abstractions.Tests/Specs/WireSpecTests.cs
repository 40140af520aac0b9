using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>training.wire: parsed, and validated with the valid choices.</summary>
public sealed class WireSpecTests
{
    [Fact]
    public void A_wire_in_the_spec_file_is_parsed_and_valid()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  wire: fp16\n", SpecFormat.Yaml);
        Assert.Equal("fp16", spec.Training.Wire);
        Assert.Empty(SpecValidation.Validate(spec));
        Assert.Null(new ExperimentSpec().Training.Wire);
    }

    [Fact]
    public void An_unknown_wire_names_the_field_and_the_choices()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  wire: bf16\n", SpecFormat.Yaml);
        Assert.Contains(SpecValidation.Validate(spec), e => e.StartsWith("training.wire: 'bf16' is unknown; use one of fp32, fp16", StringComparison.Ordinal));
    }
}
