using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SegCluster.Vision.Devices;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at AVX unless the user chose an ISA.
/// </summary>
/// <remarks>
/// On the project's build machines (AMD EPYC with AVX-512, libtorch 2.10 CPU from TorchSharp 0.107),
/// oneDNN's AVX-512 convolution backward-weights kernels return NaN or wrong weight gradients whenever
/// torch runs more than one intra-op thread: a plain conv → relu → conv backward was NaN in 5–11 of 20
/// iterations with 2 threads, 0 of 20 with 1 thread, and 0 of 60 with ONEDNN_MAX_CPU_ISA=AVX2 and 2 threads.
/// AVX2 is not safe either: the tiny 12-trial sweep (two workers training concurrently in one process) had a
/// non-finite gradient in 9 of 240 trials under GC pressure (DOTNET_GCgen0size=40000) at AVX2 and in 0 of 384 at AVX,
/// and the strided 1×1 convolution backward dies with SIGFPE at AVX2 and up (see Layers.Conv1x1). AVX leaves oneDNN's
/// brgemm kernels out.
/// oneDNN reads the variable once, when it first dispatches a kernel, from the native environment, so it
/// is set with libc's setenv (Environment.SetEnvironmentVariable only changes .NET's copy on Unix) as
/// soon as this assembly loads, before any model exists. Set ONEDNN_MAX_CPU_ISA yourself (e.g.
/// AVX512_CORE_AMX) to override; CUDA devices are unaffected.
/// </remarks>
public static class OneDnnIsaLimit
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";
    public const string SafeIsa = "AVX";

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
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        if (Environment.GetEnvironmentVariable(Variable) is not null || Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") is not null) return;
        setenv(Variable, SafeIsa, overwrite: 0);
        Environment.SetEnvironmentVariable(Variable, SafeIsa); // keep .NET's view and child processes consistent
    }

    private static string? NativeGet(string name) => Marshal.PtrToStringUTF8(getenv(name));

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr getenv(string name);
}
