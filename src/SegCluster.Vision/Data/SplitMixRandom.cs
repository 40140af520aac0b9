namespace SegCluster.Vision.Data;

/// <summary>
/// Small deterministic random stream (SplitMix64). A value type seeded from coordinates (seed, index; seed, epoch,
/// index) so each draw is a pure function of them: no shared RNG state, safe on any thread, and the same after a
/// resume from a checkpoint (a sequential generator restarted at its seed would draw again from the start).
/// </summary>
internal struct SplitMixRandom
{
    private ulong _state;

    public SplitMixRandom(int seed, int index) => _state = Mix(((ulong)(uint)seed << 32) ^ (uint)index ^ 0x9E3779B97F4A7C15UL);

    /// <summary>A stream for (seed, epoch, index): augmentation draws differ by epoch and by sample, never by thread or order.</summary>
    public SplitMixRandom(int seed, int epoch, int index) =>
        _state = Mix(Mix(((ulong)(uint)seed << 32) ^ (uint)epoch) ^ ((ulong)(uint)index << 17) ^ 0xD1B54A32D192ED03UL);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public float Uniform(double lo, double hi) => (float)(lo + (hi - lo) * NextDouble());

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)(NextDouble() * n);

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>A 32-bit value to seed <see cref="PixelNoise"/>.</summary>
    public uint NextUInt() => (uint)(Next() >> 32);

    private ulong Next() => Mix(_state += 0x9E3779B97F4A7C15UL);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Stateless per-pixel noise in [-1, 1): a hash of (key, x, y), cheaper than a stream per pixel.</summary>
    public static float PixelNoise(uint key, int x, int y)
    {
        uint h = key ^ ((uint)x * 0x27D4EB2Du) ^ ((uint)y * 0x165667B1u);
        h ^= h >> 15;
        h *= 0x2C1B3C6Du;
        h ^= h >> 12;
        h *= 0x297A2D39u;
        h ^= h >> 15;
        return (h >> 8) * (2f / (1 << 24)) - 1f;
    }
}
