using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// torchvision's Bottleneck (ResNet-50/101, "ResNet v1.5": the stride sits on the 3×3 conv, not the first
/// 1×1): 1×1 reduce to planes → 3×3 (stride, dilation) → 1×1 expand to 4·planes, plus the shortcut.
/// Field names match torchvision's state-dict keys (conv1..3, bn1..3, downsample.0/1).
/// </summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly nn.Module<Tensor, Tensor> conv3;
    private readonly nn.Module<Tensor, Tensor> bn3;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    /// <param name="downsample">1×1 conv + norm projection of the shortcut, or null for identity.</param>
    public Bottleneck(int inChannels, int planes, NormKind norm, int stride, int dilation, nn.Module<Tensor, Tensor>? downsample)
        : base(nameof(Bottleneck))
    {
        conv1 = Layers.Conv1x1(inChannels, planes, norm);
        bn1 = Layers.Norm(norm, planes);
        conv2 = Layers.Conv3x3(planes, planes, norm, stride, dilation);
        bn2 = Layers.Norm(norm, planes);
        conv3 = Layers.Conv1x1(planes, planes * Expansion, norm);
        bn3 = Layers.Norm(norm, planes * Expansion);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <param name="x">(B, C_in, h, w).</param>
    /// <returns>(B, 4·planes, h/stride, w/stride).</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(conv1.call(x)));   // (B, planes, h, w)
        y = nn.functional.relu(bn2.call(conv2.call(y)));       // (B, planes, h/s, w/s)
        y = bn3.call(conv3.call(y));                           // (B, 4·planes, h/s, w/s)
        var identity = downsample is null ? x : downsample.call(x);
        // identity + y order: see ResidualBlock.
        return nn.functional.relu(Layers.Add(identity, y)).MoveToOuterDisposeScope();
    }
}
