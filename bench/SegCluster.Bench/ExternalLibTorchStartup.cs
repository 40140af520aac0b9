using System.Runtime.CompilerServices;
using SegCluster.Vision.Devices;

namespace SegCluster.Bench;

/// <summary>
/// A bench published with -p:TorchBackend=external (bench/gpu/pack.sh) carries no libtorch: it loads it from
/// SEGCLUSTER_LIBTORCH before any command touches torch, as the CLI's Program does for --libtorch. Child
/// processes inherit the variable. Bundled builds are left alone, and so are the commands that never touch torch (the
/// all-reduce bench and its child ranks and loopback sinks: SegCluster.Collectives has no TorchSharp), which would
/// otherwise each load libtorch (CUDA's libraries included, seconds and hundreds of MiB per process) for nothing.
/// </summary>
internal static class ExternalLibTorchStartup
{
    /// <summary>Subcommands that run without libtorch.</summary>
    internal static readonly string[] TorchFreeCommands = ["allreduce", "allreduce-rank", "loopback-sink"];

    [ModuleInitializer]
    internal static void Load()
    {
        if (!ExternalLibTorch.IsRequired) return;
        var args = Environment.GetCommandLineArgs();
        if (args.Length > 1 && TorchFreeCommands.Contains(args[1])) return;
        try
        {
            Console.Error.WriteLine($"libtorch: {ExternalLibTorch.Select(null)}");
        }
        catch (LibTorchLoadException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Environment.Exit(2);
        }
    }
}
