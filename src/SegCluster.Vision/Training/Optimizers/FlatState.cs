using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Optimizers;

/// <summary>Flat float32 buffers laid out by <see cref="ParameterSlice"/>: the optimisers' state and the trainer's gradient.</summary>
public static class FlatState
{
    /// <summary>Zeros for every slice, on the parameters' device; owned by the caller, outside any dispose scope.</summary>
    public static Tensor Zeros(IReadOnlyList<ParameterSlice> slices)
    {
        long length = slices.Count == 0 ? 0 : slices[^1].Offset + slices[^1].Length;
        var device = slices.Count == 0 ? CPU : slices[0].Parameter.device;
        return zeros(length, ScalarType.Float32, device).DetachFromDisposeScope();
    }

    /// <summary><paramref name="slice"/>'s part of <paramref name="flat"/>, shaped like its parameter (a view: writes go to the buffer).</summary>
    public static Tensor View(Tensor flat, ParameterSlice slice) =>
        flat.narrow(0, slice.Offset, slice.Length).view(slice.Parameter.shape);

    /// <summary>
    /// <paramref name="slice"/>'s part of <paramref name="flat"/> with its parameter's shape AND strides (channels_last
    /// weights included), so it can serve as the parameter's .grad; null when the parameter's elements do not fill a
    /// dense block of memory. The elements sit in the parameter's memory order, which only order-free uses of the flat
    /// buffer (sums, norms) may rely on.
    /// </summary>
    public static Tensor? StridedView(Tensor flat, ParameterSlice slice)
    {
        var parameter = slice.Parameter;
        long[] shape = parameter.shape, strides = parameter.stride();
        return IsDense(shape, strides) ? flat.as_strided(shape, strides, flat.storage_offset() + slice.Offset) : null;
    }

    /// <summary>Whether strides lay the elements out as one gap-free block (any dimension order; size-1 dimensions ignored).</summary>
    private static bool IsDense(long[] shape, long[] strides)
    {
        long expected = 1;
        foreach (int d in Enumerable.Range(0, shape.Length).Where(d => shape[d] != 1).OrderBy(d => strides[d]))
        {
            if (strides[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /// <summary><see cref="View"/> of every slice, made once and kept (outside any dispose scope), so a step creates no tensors.</summary>
    public static Tensor[] Views(Tensor flat, IReadOnlyList<ParameterSlice> slices) =>
        slices.Select(slice => View(flat, slice).DetachFromDisposeScope()).ToArray();

    public static void DisposeAll(IEnumerable<IDisposable?> items)
    {
        foreach (var item in items) item?.Dispose();
    }

    public static float[] ToHost(Tensor flat)
    {
        using var host = flat.cpu();
        return host.data<float>().ToArray();
    }

    public static void FromHost(ReadOnlySpan<float> values, Tensor flat)
    {
        if (values.Length != flat.numel())
            throw new ArgumentException($"state has {values.Length} values; this optimiser needs {flat.numel()}.", nameof(values));
        using var host = tensor(values.ToArray(), ScalarType.Float32);
        using var noGrad = no_grad();
        flat.copy_(host);
    }
}
