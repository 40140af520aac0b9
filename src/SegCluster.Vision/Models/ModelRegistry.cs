using System.Collections.Frozen;
using SegCluster.Vision.Models.Backbones;

namespace SegCluster.Vision.Models;

/// <summary>Builds models by name (STYLE.md habit 3: an unknown name lists every valid one).</summary>
public static class ModelRegistry
{
    // In the order users see them listed.
    private static readonly (string Name, Func<ModelOptions, SegmentationModel> Create)[] Models =
    [
        ("spgnet", o => new SpgNet(o)),
        ("encoder-decoder", o => new EncoderDecoderNet(o)),
        ("deeplabv3plus", o => new DeepLabV3Plus(o)),
        ("unet", o => new UNet(o)),
        ("dan", o => new DeepAggregationNet(o)),
        ("vit", o => new VitNet(o)),
    ];

    private static readonly FrozenDictionary<string, Func<ModelOptions, SegmentationModel>> Factories =
        Models.ToFrozenDictionary(m => m.Name, m => m.Create, StringComparer.Ordinal);

    /// <summary>Every valid model name.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Models.Select(m => m.Name)];

    /// <summary>Models whose finest decoder level takes <see cref="ModelOptions.DecoderTruncation"/> (PAPERS.md §2):
    /// every one with a multi-scale decoder.</summary>
    public static IReadOnlyList<string> TruncatingModels { get; } = ["spgnet", "encoder-decoder", "deeplabv3plus", "unet", "dan"];

    /// <summary>The backbones model <paramref name="name"/> accepts: ViT sizes for "vit", the CNN encoders otherwise.</summary>
    public static IReadOnlyList<string> Backbones(string name) =>
        name == "vit" ? BackboneRegistry.TransformerNames : BackboneRegistry.Names;

    /// <summary>Validates <paramref name="options"/> and builds the model on the CPU with fresh weights
    /// (seed them with torch.manual_seed for reproducible initialisation).</summary>
    public static SegmentationModel Create(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Factories[options.Name](options);
    }
}
