using System.Collections.Frozen;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>Builds encoders by name (STYLE.md habit 3: an unknown name lists every valid one).</summary>
public static class BackboneRegistry
{
    /// <summary>The CPU-sized encoder the project started with (<see cref="ResNetEncoder"/>).</summary>
    public const string Tiny = "tiny";

    private static readonly FrozenDictionary<string, int> Depths = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["resnet18"] = 18,
        ["resnet34"] = 34,
        ["resnet50"] = 50,
        ["resnet101"] = 101,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>ViT-S/16 and ViT-B/16 (<see cref="VitConfig.Small"/>, <see cref="VitConfig.Base"/>), for the "vit" model.</summary>
    public const string VitSmall = "vit-s", VitBase = "vit-b";

    /// <summary>Every valid convolutional backbone name (the encoders <see cref="Create"/> builds).</summary>
    public static IReadOnlyList<string> Names { get; } = [Tiny, "resnet18", "resnet34", "resnet50", "resnet101"];

    /// <summary>The transformer encoders of the "vit" model; <see cref="Tiny"/> there is <see cref="VitConfig.ForWidth"/>.</summary>
    public static IReadOnlyList<string> TransformerNames { get; } = [Tiny, VitSmall, VitBase];

    /// <summary>The output strides a backbone supports; the first is its natural one (no dilation).</summary>
    public static IReadOnlyList<int> OutputStrides(string name) => Depths.ContainsKey(name) ? [32, 16, 8] : [16];

    /// <summary>Builds the named encoder; <paramref name="outputStride"/> null means the backbone's natural stride.</summary>
    /// <param name="blocksPerLevel">Only for <see cref="Tiny"/>: residual blocks per level.</param>
    public static Encoder Create(string name, int width, NormKind norm, int? outputStride = null, int blocksPerLevel = 1)
    {
        if (name == Tiny) return new ResNetEncoder(width, norm, blocksPerLevel);
        if (!Depths.TryGetValue(name, out int depth))
            throw new ArgumentException($"backbone \"{name}\" is unknown; valid names: {string.Join(", ", Names)}.", nameof(name));
        return new TorchvisionResNet(depth, width, norm, outputStride ?? 32);
    }
}
