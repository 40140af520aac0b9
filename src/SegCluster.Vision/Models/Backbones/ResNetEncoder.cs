using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// The "tiny" backbone: a small ResNet-like encoder (PAPERS.md §1: "Stage = encoder (ResNet) + light
/// decoder"), CPU-sized. The torchvision-faithful ResNets are <see cref="TorchvisionResNet"/>.
/// stem: 3×3 conv stride 2 → four residual levels with C, 2C, 4C, 8C channels at strides 2, 4, 8, 16
/// (output stride 16). Returns one feature per level, finest first.
/// An optional per-level hook lets a later stage add cross-stage features to each level's output
/// before it feeds the next level (<see cref="CrossStageAggregation"/>).
/// </summary>
public sealed class ResNetEncoder : Encoder
{
    private readonly nn.Module<Tensor, Tensor> stem_conv;
    private readonly nn.Module<Tensor, Tensor> stem_norm;
    private readonly nn.Module<Tensor, Tensor> layer1;
    private readonly nn.Module<Tensor, Tensor> layer2;
    private readonly nn.Module<Tensor, Tensor> layer3;
    private readonly nn.Module<Tensor, Tensor> layer4;
    private readonly int[] channels;

    /// <param name="width">C, the channels of the first level.</param>
    /// <param name="blocksPerLevel">Residual blocks per level (1 ≈ ResNet-10, 2 ≈ ResNet-18).</param>
    public ResNetEncoder(int width, NormKind norm, int blocksPerLevel = 1) : base(nameof(ResNetEncoder))
    {
        if (blocksPerLevel < 1) throw new ArgumentOutOfRangeException(nameof(blocksPerLevel), blocksPerLevel, "must be >= 1");
        channels = [width, 2 * width, 4 * width, 8 * width];
        stem_conv = Layers.Conv3x3(3, width, norm, stride: 2);
        stem_norm = Layers.Norm(norm, width);
        layer1 = Level(width, channels[0], 1, blocksPerLevel, norm);
        layer2 = Level(channels[0], channels[1], 2, blocksPerLevel, norm);
        layer3 = Level(channels[1], channels[2], 2, blocksPerLevel, norm);
        layer4 = Level(channels[2], channels[3], 2, blocksPerLevel, norm);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Channels => channels;

    /// <inheritdoc/>
    public override IReadOnlyList<int> Strides { get; } = [2, 4, 8, 16];

    /// <returns>[(B, C, H/2, W/2), (B, 2C, H/4, W/4), (B, 4C, H/8, W/8), (B, 8C, H/16, W/16)].</returns>
    public override IReadOnlyList<Tensor> Forward(Tensor x, Func<int, Tensor, Tensor>? afterLevel)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(stem_norm.call(stem_conv.call(x)));  // (B, C, H/2, W/2)
        var features = RunLevels(y, [layer1, layer2, layer3, layer4], afterLevel);
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
