using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// torchvision-faithful ResNet-18/34/50/101 encoder (He et al. 2016; torchvision.models.resnet, v1.5):
/// stem conv1 7×7/2 → bn1 → relu → maxpool 3×3/2, then layer1..layer4 of <see cref="BasicBlock"/> or
/// <see cref="Bottleneck"/> with planes C, 2C, 4C, 8C (C = 64 is torchvision; smaller C is the width
/// multiplier for CPU-sized runs). Field and block names equal torchvision's state-dict keys, so a
/// torchvision checkpoint converted to a TorchSharp state dict loads (fc.* aside, see <see cref="BackboneWeights"/>).
/// Returns the four layer outputs, finest first, at strides 4, 8, 16, 32. Output stride 16 or 8 replaces
/// the stride of layer4 (and layer3) by dilation exactly as torchvision's replace_stride_with_dilation
/// does ([F, F, T] and [F, T, T]): the first block of a dilated layer keeps the previous dilation.
/// Initialisation follows torchvision: Kaiming-normal (fan_out, ReLU) convs, norms at weight 1 bias 0.
/// </summary>
public sealed class TorchvisionResNet : Encoder
{
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> maxpool;
    private readonly nn.Module<Tensor, Tensor> layer1;
    private readonly nn.Module<Tensor, Tensor> layer2;
    private readonly nn.Module<Tensor, Tensor> layer3;
    private readonly nn.Module<Tensor, Tensor> layer4;
    private readonly int[] channels;
    private readonly int[] strides;

    /// <summary>The supported depths and their blocks per layer (torchvision's _resnet arguments).</summary>
    public static IReadOnlyDictionary<int, int[]> Layouts { get; } = new Dictionary<int, int[]>
    {
        [18] = [2, 2, 2, 2],
        [34] = [3, 4, 6, 3],
        [50] = [3, 4, 6, 3],
        [101] = [3, 4, 23, 3],
    };

    /// <param name="depth">18, 34, 50 or 101.</param>
    /// <param name="width">C, the stem and layer1 planes (torchvision: 64).</param>
    /// <param name="outputStride">32 (plain), 16 (layer4 dilated) or 8 (layer3 and layer4 dilated).</param>
    public TorchvisionResNet(int depth, int width = 64, NormKind norm = NormKind.BatchNorm, int outputStride = 32)
        : base($"ResNet{depth}")
    {
        if (!Layouts.TryGetValue(depth, out var blocks))
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "ResNet depth must be one of 18, 34, 50, 101");
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "output stride must be 8, 16 or 32");
        Depth = depth;
        int expansion = depth >= 50 ? Bottleneck.Expansion : BasicBlock.Expansion;
        bool[] dilate = [false, outputStride == 8, outputStride <= 16];  // layers 2..4

        conv1 = nn.Conv2d(3, width, kernel_size: 7, stride: 2, padding: 3, bias: norm == NormKind.None);
        bn1 = Layers.Norm(norm, width);
        maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);

        var builder = new LayerBuilder(width, norm, depth >= 50, expansion);
        layer1 = builder.Make(width, blocks[0], 1, false);
        layer2 = builder.Make(2 * width, blocks[1], 2, dilate[0]);
        layer3 = builder.Make(4 * width, blocks[2], 2, dilate[1]);
        layer4 = builder.Make(8 * width, blocks[3], 2, dilate[2]);
        channels = [width * expansion, 2 * width * expansion, 4 * width * expansion, 8 * width * expansion];
        strides = [4, 8, Math.Min(16, outputStride), outputStride];
        RegisterComponents();
        InitialiseLikeTorchvision(this);
    }

    /// <summary>18, 34, 50 or 101.</summary>
    public int Depth { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Channels => channels;

    /// <inheritdoc/>
    public override IReadOnlyList<int> Strides => strides;

    /// <summary>The stem and the four layers, in call order, for models that wire them differently (the classifier).</summary>
    internal IEnumerable<(string Name, nn.Module Module)> Parts =>
        [("conv1", conv1), ("bn1", bn1), ("maxpool", maxpool), ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4)];

    /// <returns>[(B, C·e, H/4, W/4), (B, 2C·e, H/8, W/8), (B, 4C·e, H/s3, W/s3), (B, 8C·e, H/OS, W/OS)], e the block expansion.</returns>
    public override IReadOnlyList<Tensor> Forward(Tensor x, Func<int, Tensor, Tensor>? afterLevel)
    {
        using var scope = NewDisposeScope();
        var y = maxpool.call(nn.functional.relu(bn1.call(conv1.call(x))));  // (B, C, H/4, W/4)
        var features = RunLevels(y, [layer1, layer2, layer3, layer4], afterLevel);
        foreach (var f in features) f.MoveToOuterDisposeScope();
        return features;
    }

    /// <summary>torchvision ResNet.__init__: kaiming_normal_(fan_out, relu) for convs; BN/GN weight 1, bias 0.</summary>
    private static void InitialiseLikeTorchvision(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case TorchSharp.Modules.Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    break;
                case StableBatchNorm2d bn:
                    bn.weight?.fill_(KeptScalars.One);
                    bn.bias?.fill_(KeptScalars.Zero);
                    break;
            }
        }
    }

    /// <summary>torchvision's _make_layer with its running inplanes and dilation.</summary>
    private sealed class LayerBuilder(int inplanes, NormKind norm, bool bottleneck, int expansion)
    {
        private int dilation = 1;

        public nn.Module<Tensor, Tensor> Make(int planes, int blocks, int stride, bool dilate)
        {
            int previousDilation = dilation;
            if (dilate)
            {
                dilation *= stride;
                stride = 1;
            }
            nn.Module<Tensor, Tensor>? downsample = null;
            if (stride != 1 || inplanes != planes * expansion)
                downsample = nn.Sequential(("0", Layers.Conv1x1(inplanes, planes * expansion, norm, stride)), ("1", Layers.Norm(norm, planes * expansion)));
            var list = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", Block(inplanes, planes, stride, previousDilation, downsample)) };
            inplanes = planes * expansion;
            for (int b = 1; b < blocks; b++)
                list.Add((b.ToString(CultureInfo.InvariantCulture), Block(inplanes, planes, 1, dilation, null)));
            return nn.Sequential(list);
        }

        private nn.Module<Tensor, Tensor> Block(int inChannels, int planes, int stride, int blockDilation, nn.Module<Tensor, Tensor>? downsample) =>
            bottleneck
                ? new Bottleneck(inChannels, planes, norm, stride, blockDilation, downsample)
                : new BasicBlock(inChannels, planes, norm, stride, blockDilation, downsample);
    }
}
