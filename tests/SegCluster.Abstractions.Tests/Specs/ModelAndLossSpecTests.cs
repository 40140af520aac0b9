using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>model.* and loss.*: validation names the field and the valid choices; null fields and YAML mistakes are named, not crashes.</summary>
public sealed class ModelAndLossSpecTests
{
    public static TheoryData<ExperimentSpec, string, string> InvalidSpecs => new()
    {
        { With(m => m with { Name = "pspnet" }), "model.name", "spgnet, encoder-decoder, deeplabv3plus, unet, dan, vit" },
        { With(m => m with { Backbone = "resnet152" }), "model.backbone", "tiny, resnet18, resnet34, resnet50, resnet101" },
        { With(m => m with { Backbone = "vit-s" }), "model.backbone", "resnet101" },
        { With(m => m with { Name = "vit", Backbone = "resnet50" }), "model.backbone", "tiny, vit-s, vit-b" },
        { With(m => m with { Backbone = "resnet50", OutputStride = 4 }), "model.output_stride", "32, 16, 8" },
        { With(m => m with { OutputStride = 8 }), "model.output_stride", "use one of 16" },
        { With(m => m with { BackboneWeights = " " }), "model.backbone_weights", "state-dict" },
        { new ExperimentSpec { Model = new ModelSpec { Backbone = "resnet50" }, Dataset = new DatasetSpec { Height = 48, Width = 64 } }, "dataset.height", "multiple of 32" },
        { WithLoss(l => l with { Kind = "dice" }), "loss.kind", "ce, class-suppression, scribble-regularized" },
        { WithLoss(l => l with { Kind = LossSpec.ClassSuppressionKind, ClassSuppression = new ClassSuppressionSpec { Sampling = "random" } }), "loss.class_suppression.sampling", "uniform, inverse-frequency" },
        { WithLoss(l => l with { Kind = LossSpec.ClassSuppressionKind, ClassSuppression = new ClassSuppressionSpec { EndEpoch = 0 } }), "loss.class_suppression.end_epoch", "positive" },
        { WithLoss(l => l with { Kind = LossSpec.ClassSuppressionKind, ClassSuppression = new ClassSuppressionSpec { FrequencyPrior = -1 } }), "loss.class_suppression.frequency_prior", ">= 0" },
        { WithLoss(l => l with { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { Lambda = -1 } }), "loss.scribble.lambda", ">= 0" },
        { WithLoss(l => l with { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { Scale = 2 } }), "loss.scribble.scale", "(0, 1]" },
        { WithLoss(l => l with { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { MaxGridSide = 128 } }), "loss.scribble.max_grid_side", "[2, 64]" },
        { new ExperimentSpec { Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind }, Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe, Factor = 4 } }, "labels.mode", "set labels.mode to 'full'" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Invalid_model_and_loss_fields_are_named_with_the_valid_choices(ExperimentSpec spec, string field, string choices)
    {
        var error = Assert.Single(spec.Validate(), e => e.StartsWith(field + ":", StringComparison.Ordinal));
        Assert.Contains(choices, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_combinations_pass()
    {
        Assert.Empty(With(m => m with { Backbone = "resnet101", OutputStride = 8 }).Validate());
        Assert.Empty(With(m => m with { Name = "deeplabv3plus", Backbone = "resnet50" }).Validate());  // OS 16 by default: 64×64 fits
        Assert.Empty(With(m => m with { Name = "vit", Backbone = "vit-b" }).Validate());
        Assert.Empty(new ExperimentSpec { Model = new ModelSpec { Name = "unet" }, Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { Dynamic = false } } }.Validate());
        foreach (var name in new[] { "deeplabv3plus", "unet", "dan" })  // PAPERS.md §4, §5: any model with a feature before a 1×1 classifier
            foreach (var kind in new[] { LossSpec.ClassSuppressionKind, LossSpec.ScribbleRegularizedKind })
                Assert.Empty(new ExperimentSpec { Model = new ModelSpec { Name = name }, Loss = new LossSpec { Kind = kind } }.Validate());
    }

    [Fact]
    public void Null_names_are_errors_not_crashes()
    {
        // Refused when the file is read, naming each field, before any validation could dereference them.
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>("model: { backbone: null }\nloss: { kind: null }\n", SpecFormat.Yaml));
        Assert.Contains(error.Errors, e => e.StartsWith("model.backbone: null is not allowed", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("loss.kind: null is not allowed", StringComparison.Ordinal));
    }

    [Fact]
    public void Null_sections_of_a_spec_built_in_code_are_named_not_crashes()
    {
        // As System.Text.Json binds {"dataset": null, "loss": null} posted to the HTTP API.
        var errors = new ExperimentSpec { Dataset = null!, Loss = null! }.Validate();
        Assert.Equal(["dataset: null is not allowed; leave it out for the defaults.", "loss: null is not allowed; leave it out for the defaults."], errors);
    }

    [Theory]
    [InlineData("loss:\n  scribble:\n    lamda: 2\n", "loss.scribble.lamda: unknown field (did you mean 'lambda'?); valid fields here: lambda, sigma_rgb")]
    [InlineData("model:\n  spg:\n    excitation: false\n", "model.spg.excitation: unknown field; valid fields here: supervision, sigmoid, identity")]
    [InlineData("model:\n  output_stride: sixteen\n", "model.output_stride: expected an integer or null")]
    public void Yaml_mistakes_in_the_new_sections_name_the_field(string yaml, string expected)
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(yaml, SpecFormat.Yaml));
        Assert.Contains(error.Errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    private static ExperimentSpec With(Func<ModelSpec, ModelSpec> model) => new() { Model = model(new ModelSpec()) };

    private static ExperimentSpec WithLoss(Func<LossSpec, LossSpec> loss) => new() { Loss = loss(new LossSpec()) };
}
