using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>spec.labels (and model.decoder_truncation, which follows the label grid): validation names the field and the fix.</summary>
public sealed class LabelsSpecTests
{
    [Theory]
    [InlineData("bilinear", 4, "labels.mode")]
    [InlineData("soft-ce", 3, "labels.factor")]
    [InlineData("full", 4, "labels.factor")]
    [InlineData("scribble", 4, "labels.factor")]
    public void Invalid_labels_are_reported_with_the_field(string mode, int factor, string field)
    {
        var spec = new ExperimentSpec { Labels = new LabelsSpec { Mode = mode, Factor = factor } };
        Assert.Contains(spec.Validate(), e => e.StartsWith(field, StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_mode_lists_every_valid_mode_and_a_bad_factor_lists_the_valid_factors()
    {
        var errors = new ExperimentSpec { Labels = new LabelsSpec { Mode = "bilinear", Factor = 3 } }.Validate();
        var mode = Assert.Single(errors, e => e.StartsWith("labels.mode", StringComparison.Ordinal));
        Assert.All(LabelsSpec.Modes, m => Assert.Contains(m, mode));
        var factor = Assert.Single(errors, e => e.StartsWith("labels.factor", StringComparison.Ordinal));
        Assert.Contains("1, 2, 4, 8 or 16", factor);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void A_decoder_truncation_outside_the_unit_interval_is_reported_with_the_field(double ratio)
    {
        var spec = new ExperimentSpec { Model = new ModelSpec { DecoderTruncation = ratio } };
        var error = Assert.Single(spec.Validate());
        Assert.StartsWith("model.decoder_truncation", error, StringComparison.Ordinal);
        Assert.Contains("(0, 1]", error);
    }
}
