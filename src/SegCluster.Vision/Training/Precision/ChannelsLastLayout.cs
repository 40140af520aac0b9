using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// NHWC strides for 4-D tensors. TorchSharp 0.107 has no <c>memory_format</c> argument, so a tensor is copied
/// into <c>empty_strided</c> storage with channels-last strides; libtorch then keeps the format through
/// convolutions, norms and element-wise ops (shared/PLATFORM.md, "Mixed precision and memory format").
/// Shapes stay NCHW, so flatten/copy_ and checkpoints see the logical order and are layout-independent.
/// </summary>
public static class ChannelsLastLayout
{
    /// <summary>(N, C, H, W) strides {C·H·W, 1, W·C, C} (a conv weight (O, I, kh, kw): {I·kh·kw, 1, kw·I, I}).</summary>
    public static long[] Strides(long[] shape) => [shape[1] * shape[2] * shape[3], 1, shape[3] * shape[1], shape[1]];

    /// <summary>Whether <paramref name="t"/> is 4-D with channels-last strides.</summary>
    public static bool IsChannelsLast(Tensor t) => t.dim() == 4 && t.stride().SequenceEqual(Strides(t.shape));

    /// <summary>A channels-last copy of a 4-D tensor (differentiable), or <paramref name="t"/> itself when it already is one.</summary>
    public static Tensor ToChannelsLast(Tensor t)
    {
        if (t.dim() != 4)
            throw new ArgumentException($"channels_last needs a 4-D (N, C, H, W) tensor, got {t.dim()} dimensions.", nameof(t));
        if (IsChannelsLast(t)) return t;
        var nhwc = empty_strided(t.shape, Strides(t.shape), dtype: t.dtype, device: t.device);
        return nhwc.copy_(t);
    }

    /// <summary>
    /// Replaces every Conv2d weight of <paramref name="model"/> (those <paramref name="include"/> accepts, when given)
    /// by a channels-last Parameter with the same values (same state-dict keys). Call before anything holds the old
    /// Parameter objects (an optimiser, a trainer). Returns how many weights were converted.
    /// </summary>
    public static int ConvertWeights(nn.Module model, Func<Conv2d, bool>? include = null)
    {
        using var noGrad = no_grad();
        int converted = 0;
        foreach (var conv in model.modules().OfType<Conv2d>())
        {
            var weight = conv.weight;
            if (IsChannelsLast(weight) || include?.Invoke(conv) == false) continue;
            conv.weight = new Parameter(ToChannelsLast(weight.detach()), weight.requires_grad);
            converted++;
        }
        return converted;
    }
}
