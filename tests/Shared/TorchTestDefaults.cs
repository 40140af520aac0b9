using System.Runtime.CompilerServices;
using SegCluster.Vision.Devices;

namespace SegCluster.Tests.Shared;

/// <summary>
/// Linked into every test project that runs torch; runs before any test, whichever touches torch first:
/// caps oneDNN at <see cref="OneDnnIsaLimit.SafeIsa"/> (see <see cref="OneDnnIsaLimit"/>), then sets one intra-op thread. Clean-clone CI under load
/// failed tiny-model tests with NaN first-layer weight gradients or a NaN loss a few steps in, in several runs and with
/// the AVX2 cap in place: the signature of oneDNN's multi-threaded convolution backward faults (AVX-512 with two
/// threads: 5–11 NaN of 20 here), never reproduced locally. The models under test are tiny: a second thread saves them little, and four
/// test hosts already share the build machine's two cores. Tests that are about threads set their own count.
/// </summary>
internal static class TorchTestDefaults
{
#pragma warning disable CA2255 // a test host has no Main; this is its earliest point
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        OneDnnIsaLimit.Ensure();
        TorchSharp.torch.set_num_threads(1);
    }
}
