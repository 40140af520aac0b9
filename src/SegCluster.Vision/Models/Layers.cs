using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>Convolution and normalisation factories shared by backbones, decoders and heads.</summary>
internal static class Layers
{
    /// <summary>GroupNorm uses min(8, C) groups, rounded down to a divisor of C.</summary>
    public static nn.Module<Tensor, Tensor> Norm(NormKind kind, int channels) => kind switch
    {
        NormKind.BatchNorm => new StableBatchNorm2d(channels),
        NormKind.SyncBatchNorm => new Normalization.SyncBatchNorm2d(channels),
        NormKind.GroupNorm => Initialised(nn.GroupNorm(Groups(channels), channels)),
        NormKind.None => nn.Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown NormKind"),
    };

    /// <summary>3×3 convolution; biased only when no normalisation follows (a norm's shift makes a bias redundant).</summary>
    public static nn.Module<Tensor, Tensor> Conv3x3(int inChannels, int outChannels, NormKind norm, int stride = 1) =>
        nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: stride, padding: 1, bias: norm == NormKind.None);

    /// <summary>3×3 convolution with dilation d (padding d keeps the size at stride 1), as torchvision's conv3x3.</summary>
    public static nn.Module<Tensor, Tensor> Conv3x3(int inChannels, int outChannels, NormKind norm, int stride, int dilation) =>
        nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: stride, padding: dilation, dilation: dilation, bias: norm == NormKind.None);

    /// <summary>
    /// 1×1 convolution. On the CPU a stride s is taken by subsampling the input (x[:, :, ::s, ::s], a pre-hook) before a
    /// stride-1 convolution: the same output, gradients and parameters (a 1×1 kernel reads one pixel), but libtorch 2.10's
    /// CPU oneDNN kills the process with SIGFPE (division by zero in brg_blocking_t::est_eff_1x1) in the backward of some
    /// strided 1×1 convolutions, e.g. 256/512/1024 → 1024/2048 channels at stride 2: ResNet-50's downsample projections
    /// (at ISA caps AVX2 and up; AVX and SSE4.1 do not crash). On other devices the convolution takes stride s itself:
    /// there the subsample's contiguous() turns a channels_last input to NCHW (and the next layer back), and the slice's
    /// backward allocates a full-size zero gradient. Either way one nn.Conv2d, so weights, parameter names, precision and
    /// FLOPs see the usual layer.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Conv1x1(int inChannels, int outChannels, NormKind norm, int stride = 1)
    {
        // Built at stride 1, as before any call it is inspected (ChannelsLastConvolutionCheck probes its configuration on
        // the CPU, where a strided backward could crash); each call sets the stride its device's path needs.
        var conv = nn.Conv2d(inChannels, outChannels, kernel_size: 1, bias: norm == NormKind.None);
        if (stride > 1)
            conv.register_forward_pre_hook((_, x) => StridedPointwiseInput(conv, x, stride, subsample: x.device_type == DeviceType.CPU));
        return conv;
    }

    /// <summary>
    /// The input a 1×1 convolution of stride <paramref name="stride"/> runs on, with its stride set to match (set on every
    /// call: a model can run on the CPU before it moves to a GPU): with <paramref name="subsample"/> every s-th pixel, contiguous so the
    /// convolution sees a dense input as a strided one would, at stride 1; otherwise x itself at stride s.
    /// </summary>
    internal static Tensor StridedPointwiseInput(TorchSharp.Modules.Conv2d conv, Tensor x, int stride, bool subsample)
    {
        conv.stride = subsample ? [1, 1] : [stride, stride];
        if (!subsample)
            return x;
        var every = TensorIndex.Slice(step: stride);
        return x[TensorIndex.Colon, TensorIndex.Colon, every, every].contiguous();
    }

    /// <summary>1×1 convolution followed by the norm ("1×1 conv + BN" of PAPERS.md §1).</summary>
    public static nn.Module<Tensor, Tensor> Projection(int inChannels, int outChannels, NormKind norm) =>
        nn.Sequential(("conv", Conv1x1(inChannels, outChannels, norm)), ("norm", Norm(norm, outChannels)));

    /// <summary>k×k convolution (padding keeps the size) → norm → ReLU, the block decoders are built from.</summary>
    public static nn.Module<Tensor, Tensor> ConvNormRelu(int inChannels, int outChannels, NormKind norm, int kernel = 3, int dilation = 1) =>
        nn.Sequential(
            ("conv", nn.Conv2d(inChannels, outChannels, kernel_size: kernel, padding: dilation * (kernel / 2), dilation: dilation, bias: norm == NormKind.None)),
            ("norm", Norm(norm, outChannels)),
            ("relu", nn.ReLU()));

    /// <summary>
    /// a + b with a Scalar alpha that stays alive (<see cref="KeptScalars"/>): <c>a + b</c> converts alpha = 1 to a
    /// temporary Scalar, which caused libtorch Scalar::toFloat failures ("Expected false to be true") inside residual
    /// additions in SPGNet quickstarts on this machine (two workers in one process).
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, KeptScalars.One);

    /// <summary>Bilinear resize of (B, C, h, w) to the spatial size of <paramref name="like"/> (align_corners false).</summary>
    public static Tensor ResizeLike(Tensor x, Tensor like) =>
        nn.functional.interpolate(x, [like.shape[2], like.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>
    /// TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (observed NaN weights on
    /// fresh modules), so set PyTorch's defaults explicitly: weight 1, bias 0.
    /// </summary>
    private static TorchSharp.Modules.GroupNorm Initialised(TorchSharp.Modules.GroupNorm norm)
    {
        using var noGrad = no_grad();
        norm.weight?.fill_(KeptScalars.One);
        norm.bias?.fill_(KeptScalars.Zero);
        return norm;
    }

    private static int Groups(int channels)
    {
        for (int g = Math.Min(8, channels); g > 1; g--)
            if (channels % g == 0) return g;
        return 1;
    }
}
