using System.Runtime.CompilerServices;

// libtorch's RNG seed and thread pool are process-wide: run test classes one after another so a
// test that seeds or times torch is not disturbed by another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace SegCluster.Vision.Tests;

internal static class TorchThreads
{
    /// <summary>
    /// One intra-op thread. On this machine (TorchSharp 0.107 CPU, 2 cores) backward passes with two
    /// libtorch intra-op threads were not reproducible run to run and occasionally produced NaN
    /// gradients; with one thread they are bit-reproducible. Data-parallel ranks use one thread each anyway.
    /// </summary>
    [ModuleInitializer]
    internal static void UseOneThread() => TorchSharp.torch.set_num_threads(1);
}
