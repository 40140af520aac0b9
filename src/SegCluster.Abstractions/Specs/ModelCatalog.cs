namespace SegCluster.Abstractions.Specs;

/// <summary>
/// The model and backbone names a spec may use, so a spec is validated before any node builds it.
/// Mirrors SegCluster.Vision's ModelRegistry / BackboneRegistry (Abstractions cannot reference
/// TorchSharp); a Cluster test asserts the two agree.
/// </summary>
public static class ModelCatalog
{
    public const string TinyBackbone = "tiny";

    /// <summary>Every model name, in the registry's order.</summary>
    public static IReadOnlyList<string> Models { get; } = ["spgnet", "encoder-decoder", "deeplabv3plus", "unet", "dan", "vit"];

    private static readonly string[] ConvolutionalBackbones = [TinyBackbone, "resnet18", "resnet34", "resnet50", "resnet101"];
    private static readonly string[] TransformerBackbones = [TinyBackbone, "vit-s", "vit-b"];

    /// <summary>The backbones <paramref name="model"/> accepts: the ViT sizes for "vit", the CNN encoders otherwise.</summary>
    public static IReadOnlyList<string> Backbones(string model) => model == "vit" ? TransformerBackbones : ConvolutionalBackbones;

    /// <summary>Models that end in a 1×1 classifier on an exposed feature: the class-suppression scheme (§4) and
    /// the feature consistency head (§5) wrap only these. All of today's do; a Cluster test asserts the list equals the
    /// registry models that expose <c>SegmentationModel.Head</c>.</summary>
    public static IReadOnlyList<string> ModelsWithClassifierHead { get; } = ["spgnet", "encoder-decoder", "deeplabv3plus", "unet", "dan", "vit"];

    /// <summary>Models whose finest decoder level takes model.decoder_truncation (§2); vit decodes stride-16 tokens only.</summary>
    public static IReadOnlyList<string> TruncatingModels { get; } = ["spgnet", "encoder-decoder", "deeplabv3plus", "unet", "dan"];

    /// <summary>The stride image sides must be multiples of: the spec's, else the backbone's natural one
    /// (ResNets 32, DeepLabV3+ takes them to 16; tiny and ViT 16).</summary>
    public static int InputStride(ModelSpec model) =>
        model.OutputStride ?? (IsResNet(model.Backbone) && model.Name != "deeplabv3plus" ? 32 : 16);

    /// <summary>The output strides a backbone supports (ResNets dilate their last stages for 16 and 8).</summary>
    public static IReadOnlyList<int> OutputStrides(string backbone) => IsResNet(backbone) ? [32, 16, 8] : [16];

    private static bool IsResNet(string? backbone) => backbone?.StartsWith("resnet", StringComparison.Ordinal) == true;
}
