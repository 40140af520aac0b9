using System.Runtime.CompilerServices;
using SegCluster.Vision.Devices;

namespace SegCluster.Tests.Shared;

/// <summary>Linked into every test project that runs torch: caps oneDNN at AVX2 before any test runs, whichever test touches torch first (see <see cref="OneDnnIsaLimit"/>).</summary>
internal static class OneDnnIsaCap
{
#pragma warning disable CA2255 // a test host has no Main; this is its earliest point
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply() => OneDnnIsaLimit.Ensure();
}
