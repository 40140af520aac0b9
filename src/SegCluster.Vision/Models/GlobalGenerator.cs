using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// torch's default generator is process-wide, and building a model draws its initial weights from it. Builds that run
/// at the same time on several threads (the workers of one process, a rank writing a checkpoint) take it under one lock,
/// so a seeded run's draws never interleave with another build's.
/// </summary>
public static class GlobalGenerator
{
    private static readonly Lock Gate = new();

    /// <summary>Runs <paramref name="build"/> with the generator seeded to <paramref name="seed"/>.</summary>
    public static T Seeded<T>(long seed, Func<T> build)
    {
        lock (Gate)
        {
            random.manual_seed(seed);
            return build();
        }
    }

    /// <summary>Runs <paramref name="build"/> and puts the generator back where it was: a model built only to carry
    /// values (a checkpoint's contiguous twin) moves no other draw of the process.</summary>
    public static T Untouched<T>(Func<T> build)
    {
        lock (Gate)
        {
            using var state = random.get_rng_state();
            try
            {
                return build();
            }
            finally
            {
                random.set_rng_state(state);
            }
        }
    }
}
