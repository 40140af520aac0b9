using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Models.Scribbles;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>model.* and loss.*: the mapping builds what the spec says, and agrees with the checks (validation alone:
/// SegCluster.Abstractions.Tests).</summary>
public sealed class ModelAndLossSpecTests
{
    [Fact]
    public void The_final_weight_reaches_the_loss_and_must_be_positive()
    {
        var spec = new ExperimentSpec { Training = new TrainingSpec { FinalWeight = 2 } };
        Assert.Empty(spec.Validate());
        Assert.Equal(2, SpecMapping.Loss(spec).FinalWeight);
        Assert.Equal(1, SpecMapping.Loss(new ExperimentSpec()).FinalWeight);
        var error = Assert.Single((spec with { Training = new TrainingSpec { FinalWeight = 0 } }).Validate());
        Assert.StartsWith("training.final_weight: 0 must be a positive finite number", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoder_truncation_on_a_model_without_a_fine_decoder_level_is_refused_naming_the_ones_with()
    {
        var error = Assert.Single(With(m => m with { Name = "vit", DecoderTruncation = 0.5 }).Validate());
        Assert.StartsWith("model.decoder_truncation: 0.5 needs a model with a fine decoder level", error, StringComparison.Ordinal);
        Assert.Contains("spgnet, encoder-decoder, deeplabv3plus, unet, dan", error);
        Assert.Empty(With(m => m with { Name = "dan", DecoderTruncation = 0.5 }).Validate());
        Assert.Empty(With(m => m with { Name = "vit" }).Validate());

        // A vit checkpoint from before the refusal (r < 1 did nothing there) still builds for eval, predict and resume.
        using var old = SpecMapping.BuildModelForWeights(With(m => m with { Name = "vit", DecoderTruncation = 0.5 }));
        Assert.Equal(1, old.Options.DecoderTruncation);
    }

    [Fact]
    public void The_catalogue_agrees_with_the_vision_registries()
    {
        Assert.Equal(ModelRegistry.Names, ModelCatalog.Models);
        Assert.Equal(ModelRegistry.TruncatingModels, ModelCatalog.TruncatingModels);
        foreach (var model in ModelRegistry.Names)
        {
            Assert.Equal(ModelRegistry.Backbones(model), ModelCatalog.Backbones(model));
            foreach (var backbone in ModelRegistry.Backbones(model))
                Assert.Equal(BackboneRegistry.OutputStrides(backbone), ModelCatalog.OutputStrides(backbone));
        }
        Assert.Equal(ModelRegistry.Names.Where(ExposesHead), ModelCatalog.ModelsWithClassifierHead);

        static bool ExposesHead(string name)
        {
            using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 3, Width: 4));
            return model.Head is not null;
        }
    }

    [Fact]
    public void Model_fields_reach_the_model_options()
    {
        var spec = With(m => m with
        {
            Backbone = "resnet18", OutputStride = 16, Width = 8, Norm = "gn",
            Spg = new SpgSpec { Supervision = false, Sigmoid = false, Identity = true },
        });
        var options = SpecMapping.Model(spec);
        Assert.Equal(("resnet18", 16, 8, NormKind.GroupNorm), (options.Backbone, options.OutputStride, options.Width, options.Norm));
        Assert.Equal((false, false, true), (options.SpgSupervision, options.SpgSigmoid, options.SpgIdentity));
    }

    [Theory]
    [InlineData(LossSpec.CrossEntropyKind, true, typeof(SpgNet), typeof(SegmentationCriterion))]
    [InlineData(LossSpec.ClassSuppressionKind, true, typeof(ClassSuppressionNet), typeof(ClassSuppressionCriterion))]
    [InlineData(LossSpec.ScribbleRegularizedKind, true, typeof(FeatureConsistencyNet), typeof(ScribbleRegularizedCriterion))]
    [InlineData(LossSpec.ScribbleRegularizedKind, false, typeof(SpgNet), typeof(ScribbleRegularizedCriterion))]
    public void The_loss_kind_picks_the_wrapper_and_the_criterion(string kind, bool dynamic, Type model, Type criterion)
    {
        var spec = Tiny() with { Loss = new LossSpec { Kind = kind, Scribble = new ScribbleLossSpec { Dynamic = dynamic } } };
        Assert.Empty(spec.Validate());
        using var built = SpecMapping.BuildModel(spec);
        Assert.IsType(model, built);
        Assert.IsType(criterion, SpecMapping.Criterion(spec));
    }

    [Fact]
    public void Loss_settings_reach_the_options()
    {
        var spec = Tiny() with
        {
            Training = new TrainingSpec { Steps = 30, BatchPerWorker = 2 },
            Dataset = new DatasetSpec { Height = 32, Width = 32, TrainCount = 20 },
            Workers = 1,
            Loss = new LossSpec
            {
                ClassSuppression = new ClassSuppressionSpec { TotalEpochs = 4, SuppressionWeight = 3 },
                Scribble = new ScribbleLossSpec { Lambda = 2, SigmaXy = 12, WarmupSteps = 5, Dynamic = false },
            },
        };
        var suppression = SpecMapping.ClassSuppression(spec, null);
        Assert.Equal((3.0, 4.0, 3.0), (suppression.EndEpoch, suppression.TotalEpochs, suppression.SuppressionWeight));  // E_end = 30 steps / 10 per epoch
        var scribble = SpecMapping.Scribble(spec);
        Assert.Equal((2.0, 12.0, 5, false), (scribble.Weight, scribble.SigmaXy, scribble.WarmupSteps, scribble.DeepKernel));
        var inverse = spec with { Loss = spec.Loss with { ClassSuppression = new ClassSuppressionSpec { Sampling = ClassSuppressionSpec.InverseFrequency } } };
        Assert.Contains("loss.class_suppression.sampling", Assert.Throws<ArgumentException>(() => SpecMapping.ClassSuppression(inverse, null)).Message, StringComparison.Ordinal);
        Assert.Equal([0.5, 0.5], SpecMapping.ClassSuppression(inverse, [0.5, 0.5]).ClassFrequencies!);
    }

    [Fact]
    public void Yaml_selects_backbone_spg_switches_and_loss()
    {
        const string yaml = """
            model:
              name: spgnet
              backbone: resnet50
              output_stride: 16
              width: 8
              spg: { supervision: true, sigmoid: false, identity: false }
            training: { auxiliary_weight: 0.25 }
            loss:
              kind: scribble-regularized
              scribble: { lambda: 2.5, sigma_xy: 10, warmup_steps: 100, dynamic: false }
            """;
        var spec = SpecFiles.Parse<ExperimentSpec>(yaml, SpecFormat.Yaml);
        Assert.Empty(spec.Validate());
        Assert.Equal(("resnet50", 16, 8), (spec.Model.Backbone, spec.Model.OutputStride, spec.Model.Width));
        Assert.Equal(new SpgSpec { Sigmoid = false, Identity = false }, spec.Model.Spg);
        Assert.Equal(0.25, SpecMapping.Loss(spec).AuxiliaryWeight);
        Assert.Equal(new ScribbleLossSpec { Lambda = 2.5, SigmaXy = 10, WarmupSteps = 100, Dynamic = false }, spec.Loss.Scribble);

        var json = SpecFiles.Parse<ExperimentSpec>("""{ "loss": { "kind": "class-suppression", "class_suppression": { "sampling": "inverse-frequency", "end_epoch": 2 } } }""", SpecFormat.Json);
        Assert.Equal(new ClassSuppressionSpec { Sampling = ClassSuppressionSpec.InverseFrequency, EndEpoch = 2 }, json.Loss.ClassSuppression);
        Assert.Equal(json.Loss, SpecFiles.Parse<ExperimentSpec>(SpecFiles.ToJson(json), SpecFormat.Json).Loss);
    }

    private static ExperimentSpec With(Func<ModelSpec, ModelSpec> model) => new() { Model = model(new ModelSpec()) };

    private static ExperimentSpec Tiny() => new()
    {
        Model = new ModelSpec { Width = 4 },
        Dataset = new DatasetSpec { Height = 32, Width = 32, TrainCount = 16, ValidationCount = 4 },
        Workers = 1,
        Training = new TrainingSpec { Steps = 4, BatchPerWorker = 2 },
    };
}
