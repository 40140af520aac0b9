using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// torchvision's BasicBlock (ResNet-18/34, He et al. 2016): relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)),
/// expansion 1. Field names match torchvision's state-dict keys (conv1, bn1, conv2, bn2, downsample.0/1).
/// torchvision refuses dilation in BasicBlock; here dilation d is allowed (both 3×3 convs dilated by d,
/// as DeepLab ports of ResNet-18 do) so ResNet-18/34 can run at output stride 16 or 8.
/// </summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;

    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    /// <param name="downsample">1×1 conv + norm projection of the shortcut, or null for identity.</param>
    public BasicBlock(int inChannels, int planes, NormKind norm, int stride, int dilation, nn.Module<Tensor, Tensor>? downsample)
        : base(nameof(BasicBlock))
    {
        conv1 = Layers.Conv3x3(inChannels, planes, norm, stride, dilation);
        bn1 = Layers.Norm(norm, planes);
        conv2 = Layers.Conv3x3(planes, planes, norm, 1, dilation);
        bn2 = Layers.Norm(norm, planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <param name="x">(B, C_in, h, w).</param>
    /// <returns>(B, planes, h/stride, w/stride).</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        var identity = downsample is null ? x : downsample.call(x);
        // identity + y order: see ResidualBlock.
        return nn.functional.relu(Layers.Add(identity, y)).MoveToOuterDisposeScope();
    }
}
