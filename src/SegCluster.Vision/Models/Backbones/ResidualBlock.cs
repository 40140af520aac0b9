using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// ResNet basic block: relu(norm(conv3×3(relu(norm(conv3×3(x))))) + shortcut(x)); the shortcut is a
/// strided 1×1 projection when the shape changes. Used by the encoders and the decoders' upsample modules.
/// </summary>
public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly nn.Module<Tensor, Tensor>? shortcut;

    public ResidualBlock(int inChannels, int outChannels, NormKind norm, int stride = 1) : base(nameof(ResidualBlock))
    {
        conv1 = Layers.Conv3x3(inChannels, outChannels, norm, stride);
        norm1 = Layers.Norm(norm, outChannels);
        conv2 = Layers.Conv3x3(outChannels, outChannels, norm);
        norm2 = Layers.Norm(norm, outChannels);
        if (stride != 1 || inChannels != outChannels)
            shortcut = nn.Sequential(("conv", Layers.Conv1x1(inChannels, outChannels, norm, stride)), ("norm", Layers.Norm(norm, outChannels)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(norm1.call(conv1.call(x)));   // (B, C_out, H/s, W/s)
        y = norm2.call(conv2.call(y));
        var identity = shortcut is null ? x : shortcut.call(x);
        // identity + y, not y + identity: on this machine (TorchSharp 0.107 CPU) the y + input order
        // intermittently produced NaN weight gradients upstream; see the Vision tests' TorchThreads note.
        return nn.functional.relu(Layers.Add(identity, y)).MoveToOuterDisposeScope();
    }
}
