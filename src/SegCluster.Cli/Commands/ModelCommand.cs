using System.CommandLine;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Classification;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster model info`: builds a model on the CPU and prints its parameter count and compute at an input
/// size (<see cref="ModelProfiler"/>: conv + linear MACs, FLOPs = 2 × MACs), e.g.
/// `segcluster model info --model spgnet --backbone resnet50 --width 64 --size 1024x2048 --classes 19`.
/// With no options it is the network a spec with nothing set trains (<see cref="ExperimentSpec"/>'s defaults), at that
/// spec's crop; each option overrides one field of that spec, and the network is built as training builds it
/// (<see cref="SpecMapping.Model"/>).
/// `--model classifier` is the torchvision ImageNet classifier of the backbone (check: ResNet-50 25.56M, ~4.1 GMACs at 224).
/// </summary>
public static class ModelCommand
{
    private const string Classifier = "classifier";
    /// <summary>torchvision's classifier: ImageNet's classes at ResNet width 64.</summary>
    private const int ClassifierClasses = 1000, ClassifierWidth = 64;
    /// <summary>What a spec with nothing set trains: the options' defaults.</summary>
    private static readonly ExperimentSpec Defaults = new();

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.Names)} or {Classifier}.", DefaultValueFactory = _ => Defaults.Model.Name };
        string[] backbones = [.. BackboneRegistry.Names, .. BackboneRegistry.TransformerNames.Except(BackboneRegistry.Names)];
        var backbone = new Option<string>("--backbone") { Description = $"Backbone: {string.Join(", ", backbones)} (vit-s, vit-b with --model vit).", DefaultValueFactory = _ => Defaults.Model.Backbone };
        // --image-size as well: quickstart's name for the same dataset height x width.
        var size = new Option<string>("--size", "--image-size") { Description = "Input size HxW or S (a spec's dataset.height x dataset.width), a multiple of the network's output stride.", DefaultValueFactory = _ => $"{Defaults.Dataset.Height}x{Defaults.Dataset.Width}" };
        var classes = new Option<int?>("--classes") { Description = $"K output classes (default {Defaults.Dataset.NumClasses}, a spec's dataset.num_classes; {ClassifierClasses} for the classifier)." };
        var width = new Option<int?>("--width") { Description = $"Base width C (default {Defaults.Model.Width}, a spec's model.width; {ClassifierWidth} for the classifier, as torchvision's ResNets)." };
        var outputStride = new Option<int?>("--output-stride") { Description = "Encoder output stride (default: the backbone's)." };

        model.Check(name => name != Classifier && !ModelRegistry.Names.Contains(name)
            ? $"--model '{name}' is unknown; valid: {string.Join(", ", ModelRegistry.Names)}, {Classifier}." : null);
        backbone.Check(name => !backbones.Contains(name) ? $"--backbone '{name}' is unknown; valid: {string.Join(", ", backbones)}." : null);
        classes.Check(v => v is < 2 and var k ? $"--classes {k} is too few; a model predicts at least 2 classes." : null);
        width.Check(v => v is (< 4 or > 1024) and var c ? $"--width {c} is out of range; use 4 to 1024." : null);
        // Bounded: 0 or 100000x100000 reached libtorch and failed there with a native stack trace.
        size.Check(value => ImageSize.TryParseBounded(value, out _, out _, out var error, "--size") ? null : error);

        var info = new Command("info", "Print a model's parameter count and GFLOPs at an input size.")
        {
            model, backbone, size, classes, width, outputStride,
        };
        info.SetAction(parse =>
        {
            ImageSize.TryParse(parse.GetValue(size), out int height, out int imageWidth, out _);
            string name = parse.GetValue(model)!, encoder = parse.GetValue(backbone)!;
            bool defaultBackbone = parse.GetResult(backbone) is null or { Implicit: true };
            int channels = parse.GetValue(width) ?? (name == Classifier ? ClassifierWidth : Defaults.Model.Width);
            int numClasses = parse.GetValue(classes) ?? (name == Classifier ? ClassifierClasses : Defaults.Dataset.NumClasses);
            if (name != Classifier && parse.GetValue(classes) is > 255 and var many)
            {
                Console.Error.WriteLine($"error: --classes {many} is too many for segmentation: label 255 means ignore, so use at most 255 (ids 0-254; the classifier takes more).");
                return 2;
            }
            if (name != Classifier && Mismatch(name, encoder, defaultBackbone, parse.GetValue(outputStride)) is { } mismatch)
            {
                Console.Error.WriteLine($"error: {mismatch}");
                return 2;
            }
            try
            {
                ModelProfile profile;
                if (name == Classifier)
                {
                    if (!encoder.StartsWith("resnet", StringComparison.Ordinal))
                        throw new ArgumentException($"--model classifier needs a ResNet --backbone (resnet18, resnet34, resnet50, resnet101); {encoder}{(defaultBackbone ? " is the default" : " is not one")}.");
                    using var net = new ResNetClassifier(int.Parse(encoder["resnet".Length..], System.Globalization.CultureInfo.InvariantCulture), numClasses, channels);
                    CheckSize(32);
                    profile = ModelProfiler.Profile(net, height, imageWidth, outputStride: 32);
                }
                else
                {
                    var spec = Defaults with
                    {
                        Model = Defaults.Model with { Name = name, Backbone = encoder, Width = channels, OutputStride = parse.GetValue(outputStride) },
                        Dataset = Defaults.Dataset with { NumClasses = numClasses, Height = height, Width = imageWidth },
                    };
                    using var net = ModelRegistry.Create(SpecMapping.Model(spec));
                    CheckSize(net.OutputStride);
                    profile = ModelProfiler.Profile(net, height, imageWidth, net.OutputStride);
                }
                Console.WriteLine($"{name} ({encoder}, width {channels}, {numClasses} classes)  {profile}");
                return 0;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.UserMessage()}");
                return 2;
            }

            // The network's stride is known once it is built: the profiler's own error named neither --size nor a size that fits.
            void CheckSize(int stride)
            {
                if (!ImageSize.TryParseBounded(parse.GetValue(size), out _, out _, out var error, "--size", stride))
                    throw new ArgumentException($"{error[..^1]}; the output stride of this network is {stride}.");
            }
        });
        return new Command("model", "Inspect models.") { info };
    }

    /// <summary>A --backbone the model does not take, or an --output-stride the backbone does not support, in the
    /// options' words (ModelOptions would name its own fields); null when they fit.</summary>
    private static string? Mismatch(string model, string backbone, bool defaultBackbone, int? outputStride)
    {
        var backbones = ModelRegistry.Backbones(model);
        if (!backbones.Contains(backbone))
            return $"--backbone {backbone}{(defaultBackbone ? " (the default)" : "")} is not a backbone of --model {model}; use one of {string.Join(", ", backbones)}.";
        var strides = BackboneRegistry.OutputStrides(backbone);
        return outputStride is { } os && !strides.Contains(os)
            ? $"--output-stride {os} is not supported by --backbone {backbone}; use one of {string.Join(", ", strides)} or leave it out."
            : null;
    }
}
