using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Precision;

/// <summary>How a model computes: arithmetic precision and memory format.</summary>
public sealed record PrecisionOptions(PrecisionMode Precision = PrecisionMode.Fp32, MemoryFormat MemoryFormat = MemoryFormat.Contiguous)
{
    /// <summary>Full float32, NCHW: the CPU default.</summary>
    public static PrecisionOptions Fp32 { get; } = new();

    /// <summary>The dtype convolutions and linear layers compute in.</summary>
    public ScalarType ComputeType => Precision switch
    {
        PrecisionMode.Bf16Mixed => ScalarType.BFloat16,
        PrecisionMode.Fp16Mixed => ScalarType.Float16,
        _ => ScalarType.Float32,
    };

    /// <summary>fp16's 5-bit exponent underflows small gradients; only it needs loss scaling.</summary>
    public bool UsesLossScaling => Precision == PrecisionMode.Fp16Mixed;

    /// <summary>
    /// The defaults for a device, as PyTorch users set them: on CUDA bf16-mixed where the GPU has bf16 tensor
    /// cores (compute capability 8.0, Ampere, and up), fp16-mixed before it, both with channels_last; on CPU
    /// float32 and contiguous (on CPU the policy computes bf16/fp16 layers with fp32 kernels on rounded operands, so
    /// they are no faster than float32; see <see cref="MixedPrecisionPolicy"/>).
    /// </summary>
    /// <param name="isCuda">Whether the device is a CUDA GPU.</param>
    /// <param name="computeCapabilityMajor">The GPU's compute capability major version, if known (null: assume ≥ 8).</param>
    public static PrecisionOptions DefaultFor(bool isCuda, int? computeCapabilityMajor = null) => isCuda
        ? new(computeCapabilityMajor is < 8 ? PrecisionMode.Fp16Mixed : PrecisionMode.Bf16Mixed, MemoryFormat.ChannelsLast)
        : Fp32;

    /// <summary>The spec names: fp32 | bf16-mixed | fp16-mixed.</summary>
    public static string Name(PrecisionMode mode) => mode switch
    {
        PrecisionMode.Bf16Mixed => "bf16-mixed",
        PrecisionMode.Fp16Mixed => "fp16-mixed",
        _ => "fp32",
    };

    /// <summary>The spec names: contiguous | channels_last.</summary>
    public static string Name(MemoryFormat format) => format == MemoryFormat.ChannelsLast ? "channels_last" : "contiguous";

    /// <summary>"bf16-mixed, channels_last".</summary>
    public override string ToString() => $"{Name(Precision)}, {Name(MemoryFormat)}";
}
