using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SegCluster.Vision.Devices;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at SSE4.1 unless the user chose an ISA.
/// </summary>
/// <remarks>
/// libtorch 2.10's oneDNN (TorchSharp 0.107 CPU) AVX, AVX2 and AVX-512 forward convolutions read memory they never
/// wrote when the input channel count has a SIMD tail: every k×k convolution (k &gt; 1; any stride, dilation and output
/// channels) with more than 8 input channels and not a multiple of 8 (AVX, AVX2; 16 for AVX-512). Whatever the heap
/// held there enters the sum: stale NaN/Inf makes outputs NaN, stale finite values make them wrong (20–50% relative
/// error). Measured here with the heap filled with freed NaN tensors before each call (a 2×C×8×8 input): at AVX
/// 700 of 1,440 convolution configurations (cin 1–48 × cout 4/8/12/32/38 × 1×1/3×3 × stride 1/2 × dilation 1/2) were
/// wrong, exactly all the 3×3 ones with such a tail; at SSE4.1 none. In training this was the flaky "loss is NaN at
/// step 1": DeepLabV3+ at width 8 fuses 32 + 6 = 38 channels with a 3×3 convolution, which was NaN whenever the
/// allocator handed it memory a freed tensor had left NaN in (two SyncBatchNorm ranks in one process: 13 of 96
/// runs at AVX, 0 of 96 at SSE4.1; one model alone on one thread failed too). The same fault is why channels_last
/// convolutions with such channel counts disagree (<see cref="Training.Precision.ChannelsLastConvolutionCheck"/>).
/// Earlier caps and what they fixed: AVX-512's backward-weights kernels were NaN with two intra-op threads (5–11 of
/// 20 iterations), AVX2's strided 1×1 backward dies with SIGFPE (see Layers.Conv1x1); SSE4.1 avoids both.
/// The price: CPU training steps take about 1.3× as long as at AVX (deeplabv3plus width 16, 128², batch 4).
/// oneDNN reads the variable once, when it first dispatches a kernel, from the native environment, so it
/// is set with libc's setenv (Environment.SetEnvironmentVariable only changes .NET's copy on Unix) as
/// soon as this assembly loads, before any model exists. Set ONEDNN_MAX_CPU_ISA yourself (e.g. AVX2) to
/// trade that correctness for speed; CUDA devices are unaffected.
/// </remarks>
public static class OneDnnIsaLimit
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";
    public const string SafeIsa = "SSE41";

    /// <summary>
    /// Runs this assembly's module initializer (every call into the assembly does) for a process that may touch torch
    /// before any SegCluster.Vision type: a test host whose first test builds a TorchSharp convolution directly
    /// would otherwise let oneDNN pick AVX-512 for the whole process (seen in CI as NaN first-layer gradients).
    /// </summary>
    public static void Ensure()
    {
    }

    /// <summary>The ISA cap in force for this process (null when none could be set).</summary>
    public static string? Effective => Environment.GetEnvironmentVariable(Variable) ?? NativeGet(Variable);

#pragma warning disable CA2255 // runs before any torch kernel of this library can be dispatched
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        if (CapFor(Environment.GetEnvironmentVariable, unixLike: OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) is not { } cap) return;
        setenv(Variable, cap, overwrite: 0);
        Environment.SetEnvironmentVariable(Variable, cap); // keep .NET's view and child processes consistent
    }

    /// <summary>The cap <see cref="Apply"/> sets in an environment: none where the user chose an ISA (<see cref="Variable"/>,
    /// or its older name DNNL_MAX_CPU_ISA) or where libc's setenv is not there to set it (not Linux or macOS);
    /// <see cref="SafeIsa"/> otherwise.</summary>
    /// <param name="variable">Reads an environment variable (null when unset).</param>
    internal static string? CapFor(Func<string, string?> variable, bool unixLike) =>
        !unixLike || variable(Variable) is not null || variable("DNNL_MAX_CPU_ISA") is not null ? null : SafeIsa;

    private static string? NativeGet(string name) => Marshal.PtrToStringUTF8(getenv(name));

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr getenv(string name);
}
