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
    private readonly Scalar _mu;

    public SgdMomentum(IReadOnlyList<ParameterSlice> slices, double momentum)
    {
        _slices = [.. slices];
        _momentum = FlatState.Zeros(_slices);
        _mu = momentum.ToScalar();
    }

    public long StateLength => _momentum.numel();

    public void Step(Tensor gradient, float learningRate, long completedSteps)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var step = (-learningRate).ToScalar();
        bool first = completedSteps == 0;
        foreach (var slice in _slices)
        {
            var p = slice.Parameter;
            var d = FlatState.View(gradient, slice);
            if (slice.Decay != 0)
            {
                using var decay = slice.Decay.ToScalar();
                d.add_(p, decay);
            }
            var buffer = FlatState.View(_momentum, slice);
            if (first) buffer.copy_(d);
            else buffer.mul_(_mu).add_(d);
            p.add_(buffer, step);
        }
    }

    public float[] Snapshot() => FlatState.ToHost(_momentum);

    public void Restore(ReadOnlySpan<float> state) => FlatState.FromHost(state, _momentum);

    public void Dispose()
    {
        _momentum.Dispose();
        _mu.Dispose();
    }
}
