using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace SegCluster.Vision.Devices;

/// <summary>
/// Loads libtorch from a folder the user names (an installed PyTorch's <c>torch/lib</c>, or a libtorch
/// distribution) for builds made with <c>-p:TorchBackend=external</c>, which carry TorchSharp's
/// libLibTorchSharp.so but no libtorch. PLATFORM.md "GPU": TorchSharp 0.107 (built for libtorch 2.10)
/// resolved every symbol against PyTorch 2.11 + CUDA 13 and trained at 0.99× PyTorch's speed.
/// </summary>
/// <remarks>
/// libtorch.so is loaded by full path before TorchSharp first touches its native library: the dynamic
/// loader then satisfies libLibTorchSharp.so's needs (libtorch.so, libtorch_cpu.so, libc10.so) by soname
/// from the copies already in the process, and libtorch's own RUNPATH ($ORIGIN, and in pip wheels the
/// nvidia/* folders) finds the rest, so no LD_LIBRARY_PATH or symlinks are required.
/// </remarks>
public static class ExternalLibTorch
{
    /// <summary>Environment variable naming the folder, read when no --libtorch option is given.</summary>
    public const string EnvironmentVariable = "SEGCLUSTER_LIBTORCH";

    /// <summary>Libraries libLibTorchSharp.so links against; all must be in the folder.</summary>
    public static readonly IReadOnlyList<string> RequiredLibraries = ["libtorch.so", "libtorch_cpu.so", "libc10.so"];

    private const string CudaLibrary = "libtorch_cuda.so";
    private static readonly Lock Gate = new();
    private static string? loadedFrom;

    /// <summary>How this build gets libtorch: "cpu" or "cuda" (bundled from NuGet) or "external" (a folder at run time).</summary>
    public static string Backend { get; } =
        typeof(ExternalLibTorch).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TorchBackend")?.Value ?? "cpu";

    public static bool IsRequired => Backend == "external";

    /// <summary>
    /// Applies the user's choice (<paramref name="folder"/>, else <see cref="EnvironmentVariable"/>):
    /// loads libtorch from it in an external build; in a bundled build a choice is an error, as two
    /// libtorch copies cannot share a process. Returns the folder used, or null for a bundled build.
    /// </summary>
    public static string? Select(string? folder)
    {
        folder ??= Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        if (!IsRequired)
        {
            if (folder is null) return null;
            throw new LibTorchLoadException(
                $"--libtorch / {EnvironmentVariable} was given ('{folder}'), but this build bundles libtorch (TorchBackend={Backend}). " +
                "Use a build made with -p:TorchBackend=external (deploy/gpu/publish.sh) to load libtorch from a folder, or drop the option.");
        }
        if (folder is null)
            throw new LibTorchLoadException(
                $"This build (TorchBackend=external) carries no libtorch: pass --libtorch DIR or set {EnvironmentVariable} to a folder " +
                "holding libtorch.so (a PyTorch install's torch/lib, e.g. python3 -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\").");
        Load(folder);
        return loadedFrom;
    }

    /// <summary>Loads libtorch from <paramref name="folder"/> (or its lib/ subfolder) and initialises TorchSharp on it.</summary>
    public static void Load(string folder)
    {
        lock (Gate)
        {
            var libraries = Resolve(folder);
            if (loadedFrom is not null)
            {
                if (loadedFrom != libraries) throw new LibTorchLoadException($"libtorch is already loaded from '{loadedFrom}'; cannot switch to '{libraries}' in the same process.");
                return;
            }
            var cuda = Path.Combine(libraries, CudaLibrary);
            foreach (var path in (string[])[Path.Combine(libraries, "libc10.so"), Path.Combine(libraries, "libtorch_cpu.so"), .. File.Exists(cuda) ? [cuda] : Array.Empty<string>(), Path.Combine(libraries, "libtorch.so")])
            {
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    throw new LibTorchLoadException($"--libtorch: '{path}' could not be loaded: {e.Message}", e);
                }
            }
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.ones(2).sum();
                _ = probe.item<float>();
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or EntryPointNotFoundException or ExternalException)
            {
                throw new LibTorchLoadException(
                    $"--libtorch: the libtorch in '{libraries}' loaded, but TorchSharp could not start on it " +
                    $"(TorchSharp {typeof(torch).Assembly.GetName().Version} is built for libtorch 2.10; PyTorch 2.10–2.11 are known to work): {e.Message}", e);
            }
            loadedFrom = libraries;
        }
    }

    /// <summary>The folder holding the libraries: <paramref name="folder"/> itself or its lib/ (a libtorch distribution's root).</summary>
    public static string Resolve(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new LibTorchLoadException($"--libtorch: '{full}' does not exist.");
        foreach (var candidate in (string[])[full, Path.Combine(full, "lib")])
            if (RequiredLibraries.All(name => File.Exists(Path.Combine(candidate, name))))
                return candidate;
        var missing = RequiredLibraries.Where(name => !File.Exists(Path.Combine(full, name)));
        throw new LibTorchLoadException(
            $"--libtorch: '{full}' lacks {string.Join(", ", missing)} (looked in it and in its lib/ for {string.Join(", ", RequiredLibraries)}); " +
            "point it at a PyTorch install's torch/lib or a libtorch distribution.");
    }
}
