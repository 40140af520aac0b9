using System.Runtime.CompilerServices;
using SegCluster.Vision.Devices;

namespace SegCluster.Bench;

/// <summary>
/// A bench published with -p:TorchBackend=external (bench/gpu/pack.sh) carries no libtorch: it loads it from
/// SEGCLUSTER_LIBTORCH before any command touches torch, as the CLI's Program does for --libtorch. Child
/// processes (ranks, sinks) inherit the variable. Bundled builds are left alone.
/// </summary>
internal static class ExternalLibTorchStartup
{
    [ModuleInitializer]
    internal static void Load()
    {
        if (!ExternalLibTorch.IsRequired) return;
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
