using System.Numerics;
using System.Runtime.InteropServices;

namespace SegCluster.Collectives;

/// <summary>Element-wise kernels for received chunks.</summary>
internal static class FloatMath
{
    /// <summary>
    /// destination[i] += source[i]. Vectorised, but each element is still one IEEE addition, so the
    /// result is bit-identical to the scalar loop (no reassociation across elements).
    /// </summary>
    public static void AddInPlace(Span<float> destination, ReadOnlySpan<byte> sourceBytes)
    {
        // Cast tolerates unaligned data; the payload's float offset inside the protobuf buffer is arbitrary.
        var source = MemoryMarshal.Cast<byte, float>(sourceBytes);
        if (source.Length != destination.Length)
        {
            throw new ArgumentException("Source and destination lengths differ.", nameof(sourceBytes));
        }

        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            var destinationVectors = MemoryMarshal.Cast<float, Vector<float>>(destination);
            var sourceVectors = MemoryMarshal.Cast<float, Vector<float>>(source);
            for (var v = 0; v < destinationVectors.Length; v++)
            {
                destinationVectors[v] += sourceVectors[v];
            }

            i = destinationVectors.Length * width;
        }

        for (; i < destination.Length; i++)
        {
            destination[i] += source[i];
        }
    }
}
