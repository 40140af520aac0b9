using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// Whether a convolution computes the same in channels_last as in NCHW on this device, checked once per distinct
/// configuration on a small random probe (forward, input gradient and weight gradient).
/// </summary>
/// <remarks>
/// Why: libtorch 2.10's CPU (oneDNN) NHWC convolution returns wrong values, silently, for k×k kernels (k &gt; 1) whose
/// input channel count exceeds the SIMD width and is not a multiple of it. Measured on the build machine (AMD EPYC):
/// with the AVX2 cap (<see cref="Devices.OneDnnIsaLimit"/>) 9, 12, 15, 31, 33, 36, 38 input channels are wrong and
/// 3–8, 16, 24, 32, 40, 48, 64 right; with AVX-512 the bad set becomes 24, 31, 33, 36, 38, 40 (multiples of 16 right);
/// with SSE4.1 all are right; 1×1 convolutions are always right. DeepLabV3+'s decoder fusion conv (ASPP + low-level
/// channels, 38 at width 8) was the layer that made its channels_last run diverge. Probing instead of hard-coding the
/// rule keeps the result right on other ISAs, libtorch builds and on CUDA, where the probe simply passes.
/// </remarks>
/// <param name="computeType">The dtype the convolutions compute in (the policy's compute type): kernels differ per dtype.</param>
public sealed class ChannelsLastConvolutionCheck(ScalarType computeType)
{
    private readonly Dictionary<string, bool> _verdicts = [];  // one probe per distinct configuration and device

    /// <summary>
    /// Whether <paramref name="conv"/> may run in channels_last. Only zero-padded, non-transposed convolutions are
    /// probed; anything else stays NCHW.
    /// </summary>
    public bool Agrees(Conv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.transposed || conv.padding_mode != PaddingModes.Zeros || conv.padding_type is not null) return false;
        var weight = conv.weight!;
        string key = $"{weight.device}|{string.Join("x", weight.shape)}|s{string.Join(",", conv.stride)}|p{string.Join(",", conv.padding!)}|d{string.Join(",", conv.dilation)}|g{conv.groups}";
        if (!_verdicts.TryGetValue(key, out bool agrees))
            _verdicts[key] = agrees = Probe(conv, weight.device, computeType);
        return agrees;
    }

    private static bool Probe(Conv2d conv, Device device, ScalarType type)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2026, device);
        long[] w = conv.weight!.shape;  // (O, I/groups, kh, kw)
        long h = conv.dilation[0] * (w[2] - 1) + 2 * conv.stride[0] + 3, width = conv.dilation[1] * (w[3] - 1) + 2 * conv.stride[1] + 3;
        var x = randn([2, w[1] * conv.groups, h, width], generator: generator, device: device).to(type);
        using var weightStd = 0.1.ToScalar();  // held for the native call (see KeptScalars)
        var weight = randn(w, generator: generator, device: device).mul(weightStd).to(type);
        var upstream = (Tensor?)null;

        (Tensor Y, Tensor Dx, Tensor Dw) Run(Tensor input, Tensor kernel)
        {
            var xi = input.detach().requires_grad_(true);
            var wi = kernel.detach().requires_grad_(true);
            var y = nn.functional.conv2d(xi, wi, null, conv.stride, conv.padding!, conv.dilation, conv.groups);
            upstream ??= randn(y.shape, generator: generator, device: device).to(type);
            var grads = autograd.grad([(y * upstream).sum()], [xi, wi]);
            return (y.detach(), grads[0], grads[1]);
        }

        var reference = Run(x, weight);
        var nhwc = Run(ChannelsLastLayout.ToChannelsLast(x), ChannelsLastLayout.ToChannelsLast(weight));
        // fp32: different kernels sum in different orders (~1e-6 relative); bf16/fp16 outputs may differ by an ulp
        // (2^-8 for bf16). The failure this guards against is off by tens of percent.
        double tolerance = type == ScalarType.Float32 ? 1e-3 : 5e-2;
        return Close(reference.Y, nhwc.Y, tolerance) && Close(reference.Dx, nhwc.Dx, tolerance) && Close(reference.Dw, nhwc.Dw, tolerance);
    }

    private static bool Close(Tensor expected, Tensor actual, double tolerance)
    {
        var e = expected.to(ScalarType.Float32);
        double scale = Math.Max(e.abs().max().item<float>(), 1e-12);
        return (e - actual.to(ScalarType.Float32)).abs().max().item<float>() <= tolerance * scale;
    }
}
