using SegCluster.Vision.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// A trainer's gradient as one flat float32 buffer on the parameters' device, each parameter's .grad a view of its slice
/// (PyTorch DDP's gradient_as_bucket_view): autograd accumulates into a defined grad in place, so backward writes straight
/// into the buffer and a step neither copies gradients into it nor zeroes them one tensor at a time. A parameter whose
/// elements do not fill a dense block, or that is not float32, keeps a grad of its own, copied in by <see cref="Flatten"/>.
/// After a trainer's step the grads hold the reduced gradient as the optimiser applied it (unscaled, clipped, SGD's weight
/// decay added).
/// With more than one rank, <see cref="Host"/> is what the reducer sums (on the CPU, the buffer's own memory).
/// </summary>
internal sealed class FlatGradient : IDisposable
{
    private readonly ParameterSlice[] _slices;

    public FlatGradient(ParameterSlice[] slices, int worldSize)
    {
        _slices = slices;
        var flat = FlatState.Zeros(slices);
        Host = worldSize > 1 ? new HostGradientBuffer(flat.numel(), flat.device) : null;
        if (Host?.SharedGradient is { } shared)  // CPU: the reducer sums the gradient's own memory
        {
            flat.Dispose();
            flat = shared;
        }
        Values = flat;
        Views = FlatState.Views(flat, slices);
        IsView = BindGradientsToViews();
    }

    /// <summary>The flat buffer, in parameter order.</summary>
    public Tensor Values { get; }

    /// <summary>Each parameter's slice of <see cref="Values"/>, shaped (and, where it is the grad, strided) like it.</summary>
    public Tensor[] Views { get; }

    /// <summary>Whether the parameter's .grad is its view: backward writes into <see cref="Values"/>.</summary>
    public bool[] IsView { get; }

    /// <summary>More than one rank: the host copy the reducer sums; null for one rank.</summary>
    public HostGradientBuffer? Host { get; }

    public long Length => Values.numel();

    public void Zero()
    {
        using var noGrad = no_grad();
        Values.zero_();
        for (int i = 0; i < _slices.Length; i++)
            if (!IsView[i]) _slices[i].Parameter.grad?.zero_();
    }

    /// <summary>The gradients that are not already views, in parameter order, into <see cref="Values"/> on their device
    /// (zeros for a parameter without grad); copy_ honours channels_last strides.</summary>
    public void Flatten()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _slices.Length; i++)
        {
            if (IsView[i]) continue;
            if (_slices[i].Parameter.grad is { } g) Views[i].copy_(g);
            else Views[i].zero_();
        }
    }

    /// <summary>
    /// The L2 norm, and the first non-finite element or -1. One pass serves both the finite check and clipping: the norm
    /// is finite iff every element is (unless the fp32 sum of squares alone overflowed, which the slow path tells apart).
    /// </summary>
    public (double Norm, long FirstNonFinite) Measure()
    {
        double norm = Norm(ScalarType.Float32);
        long bad = double.IsFinite(norm) ? -1 : FirstNonFinite();
        if (bad < 0 && !double.IsFinite(norm)) norm = Norm(ScalarType.Float64);
        return (norm, bad);
    }

    /// <summary>Multiplies the gradient by <paramref name="factor"/> in one pass; no-op at 1.</summary>
    public void Scale(double factor)
    {
        if (factor == 1.0) return;
        using var noGrad = no_grad();
        using var f = factor.ToScalar();
        Values.mul_(f);
    }

    public void Dispose() => FlatState.DisposeAll([.. Views, Values, Host]);  // disposing the shared gradient twice is a no-op

    private bool[] BindGradientsToViews()
    {
        var bound = new bool[_slices.Length];
        for (int i = 0; i < _slices.Length; i++)
        {
            var parameter = _slices[i].Parameter;
            if (parameter.dtype != ScalarType.Float32 || FlatState.StridedView(Values, _slices[i]) is not { } view) continue;
            Views[i].Dispose();
            Views[i] = view.DetachFromDisposeScope();
            parameter.grad = view;
            bound[i] = true;
        }
        return bound;
    }

    private long FirstNonFinite()
    {
        using var scope = NewDisposeScope();
        var bad = isfinite(Values).logical_not().nonzero();
        return bad.shape[0] == 0 ? -1 : bad[0, 0].item<long>();
    }

    private double Norm(ScalarType accumulate)
    {
        using var scope = NewDisposeScope();
        return accumulate == Values.dtype ? Values.norm().item<float>() : Values.to(accumulate).norm().item<double>();
    }
}
