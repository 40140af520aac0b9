using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// Small ResNet-like encoder (PAPERS.md §1: "Stage = encoder (ResNet) + light decoder"), CPU-sized.
/// stem: 3×3 conv stride 2 → four residual levels with C, 2C, 4C, 8C channels at strides 2, 4, 8, 16
/// (output stride 16). Returns one feature per level, finest first.
/// An optional per-level hook lets a later stage add cross-stage features to each level's output
/// before it feeds the next level (<see cref="CrossStageAggregation"/>).
/// </summary>
public sealed class ResNetEncoder : nn.Module<Tensor, IReadOnlyList<Tensor>>
{
    private readonly nn.Module<Tensor, Tensor> stem_conv;
    private readonly nn.Module<Tensor, Tensor> stem_norm;
    private readonly nn.Module<Tensor, Tensor> layer1;
    private readonly nn.Module<Tensor, Tensor> layer2;
    private readonly nn.Module<Tensor, Tensor> layer3;
    private readonly nn.Module<Tensor, Tensor> layer4;

    /// <param name="width">C, the channels of the first level.</param>
    /// <param name="blocksPerLevel">Residual blocks per level (1 ≈ ResNet-10, 2 ≈ ResNet-18).</param>
    public ResNetEncoder(int width, NormKind norm, int blocksPerLevel = 1) : base(nameof(ResNetEncoder))
    {
        if (blocksPerLevel < 1) throw new ArgumentOutOfRangeException(nameof(blocksPerLevel), blocksPerLevel, "must be >= 1");
        Channels = [width, 2 * width, 4 * width, 8 * width];
        stem_conv = Layers.Conv3x3(3, width, norm, stride: 2);
        stem_norm = Layers.Norm(norm, width);
        layer1 = Level(width, Channels[0], 1, blocksPerLevel, norm);
        layer2 = Level(Channels[0], Channels[1], 2, blocksPerLevel, norm);
        layer3 = Level(Channels[1], Channels[2], 2, blocksPerLevel, norm);
        layer4 = Level(Channels[2], Channels[3], 2, blocksPerLevel, norm);
        RegisterComponents();
    }

    /// <summary>Channels of the four returned features, finest first.</summary>
    public IReadOnlyList<int> Channels { get; }

    /// <summary>Strides of the four returned features relative to the input, finest first.</summary>
    public static IReadOnlyList<int> Strides { get; } = [2, 4, 8, 16];

    public override IReadOnlyList<Tensor> forward(Tensor x) => Forward(x, null);

    /// <param name="x">(B, 3, H, W) images.</param>
    /// <param name="afterLevel">Optional hook (level index, level output) → the feature passed on and returned.</param>
    /// <returns>[(B, C, H/2, W/2), (B, 2C, H/4, W/4), (B, 4C, H/8, W/8), (B, 8C, H/16, W/16)].</returns>
    public IReadOnlyList<Tensor> Forward(Tensor x, Func<int, Tensor, Tensor>? afterLevel)
    {
        using var scope = NewDisposeScope();
        var features = new Tensor[4];
        var y = nn.functional.relu(stem_norm.forward(stem_conv.forward(x)));  // (B, C, H/2, W/2)
        nn.Module<Tensor, Tensor>[] levels = [layer1, layer2, layer3, layer4];
        for (int i = 0; i < levels.Length; i++)
        {
            y = levels[i].forward(y);
            if (afterLevel is not null) y = afterLevel(i, y);
            features[i] = y;
        }
        foreach (var f in features) f.MoveToOuterDisposeScope();
        return features;
    }

    private static nn.Module<Tensor, Tensor> Level(int inChannels, int outChannels, int stride, int blocks, NormKind norm)
    {
        var list = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", new ResidualBlock(inChannels, outChannels, norm, stride)) };
        for (int b = 1; b < blocks; b++)
            list.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture), new ResidualBlock(outChannels, outChannels, norm)));
        return nn.Sequential(list);
    }
}
