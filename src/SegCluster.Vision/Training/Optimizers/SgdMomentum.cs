using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// PyTorch SGD (dampening 0, no Nesterov): d = g + wd·p; buf = d on the first step, else momentum·buf + d;
/// p −= lr·buf. Ours rather than torch.optim.SGD: TorchSharp 0.107's SGD.step crashed here with corrupted
/// temporary Scalar arguments ("Unknown scalar type") during long runs; every Scalar here lives until its op returns.
/// </summary>
public sealed class SgdMomentum : IFlatOptimizer
{
    private readonly ParameterSlice[] _slices;
    private readonly Tensor _momentum;
    private readonly Tensor[] _buffers;  // per-parameter views of _momentum
    private readonly Scalar?[] _decay;   // null: no decay
    private readonly Scalar _mu;

    public SgdMomentum(IReadOnlyList<ParameterSlice> slices, double momentum)
    {
        _slices = [.. slices];
        _momentum = FlatState.Zeros(_slices);
        _buffers = FlatState.Views(_momentum, _slices);
        _decay = [.. _slices.Select(s => s.Decay == 0 ? null : s.Decay.ToScalar())];
        _mu = momentum.ToScalar();
    }

    public long StateLength => _momentum.numel();

    public long AppliedSteps { get; private set; }

    public void Step(IReadOnlyList<Tensor> gradients, float learningRate)
    {
        using var noGrad = no_grad();
        using var step = (-learningRate).ToScalar();
        bool first = AppliedSteps == 0;
        for (int i = 0; i < _slices.Length; i++)
        {
            var p = _slices[i].Parameter;
            var d = gradients[i];
            if (_decay[i] is { } decay) d.add_(p, decay);
            var buffer = _buffers[i];
            if (first) buffer.copy_(d);
            else buffer.mul_(_mu).add_(d, KeptScalars.One);
            p.add_(buffer, step);
        }
        AppliedSteps++;
    }

    public float[] Snapshot() => FlatState.ToHost(_momentum);

    public void Restore(ReadOnlySpan<float> state, long appliedSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(appliedSteps);
        FlatState.FromHost(state, _momentum);
        AppliedSteps = appliedSteps;
    }

    public void Dispose()
    {
        FlatState.DisposeAll([.. _buffers, .. _decay, _momentum, _mu]);
    }
}
