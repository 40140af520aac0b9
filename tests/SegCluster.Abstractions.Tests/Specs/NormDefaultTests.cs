using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>model.norm: an unknown norm names the choices; left out, it stays unspecified and is derived from the worker count.</summary>
public sealed class NormDefaultTests
{
    [Fact]
    public void An_unknown_norm_is_refused_with_the_choices_and_the_default()
    {
        var errors = new ExperimentSpec { Model = new ModelSpec { Norm = "batchnorm" } }.Validate();
        var error = Assert.Single(errors, e => e.StartsWith("model.norm:", StringComparison.Ordinal));
        Assert.Contains("'batchnorm' is unknown", error);
        Assert.Contains("bn, syncbn, gn, none", error);
    }

    [Fact]
    public void The_derived_norm_survives_a_round_trip_as_unspecified()
    {
        // The spec records what the user wrote (nothing); the derived value is recomputed from the same worker count.
        var spec = new ExperimentSpec { Workers = 2 };
        var copy = SpecFiles.Parse<ExperimentSpec>(SpecFiles.ToJson(spec), SpecFormat.Json);
        Assert.Null(copy.Model.Norm);
        Assert.Equal("syncbn", copy.Model.NormFor(copy.Workers));
    }
}
