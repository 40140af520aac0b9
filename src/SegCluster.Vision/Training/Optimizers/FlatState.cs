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
