using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// AdamW (Loshchilov and Hutter, decoupled weight decay; PyTorch's defaults β = (0.9, 0.999), ε = 1e-8):
/// p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·m̂/(√v̂ + ε) with bias-corrected m̂, v̂.
/// The optimiser of ViT backbones.
/// </summary>
public sealed class AdamW : IFlatOptimizer
{
    private readonly ParameterSlice[] _slices;
    private readonly Tensor _first, _second;
    private readonly Tensor[] _firstViews, _secondViews;
    private readonly double _beta1, _beta2, _epsilon;
    private readonly Scalar _b1, _b2, _oneMinusB1, _oneMinusB2;

    public AdamW(IReadOnlyList<ParameterSlice> slices, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        _slices = [.. slices];
        _first = FlatState.Zeros(_slices);
        _second = FlatState.Zeros(_slices);
        _firstViews = FlatState.Views(_first, _slices);
        _secondViews = FlatState.Views(_second, _slices);
        (_beta1, _beta2, _epsilon) = (beta1, beta2, epsilon);
        (_b1, _b2) = (beta1.ToScalar(), beta2.ToScalar());
        (_oneMinusB1, _oneMinusB2) = ((1 - beta1).ToScalar(), (1 - beta2).ToScalar());
    }

    public long StateLength => _first.numel() + _second.numel();

    public long AppliedSteps { get; private set; }

    public void Step(IReadOnlyList<Tensor> gradients, float learningRate)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long t = AppliedSteps + 1;  // the bias corrections count the updates the moments have seen
        double correction1 = 1 - Math.Pow(_beta1, t), correction2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, t));
        using var inverseCorrection2 = (1 / correction2Sqrt).ToScalar();
        using var epsilon = _epsilon.ToScalar();
        using var step = (-learningRate / correction1).ToScalar();
        for (int i = 0; i < _slices.Length; i++)
        {
            var (slice, g) = (_slices[i], gradients[i]);
            var p = slice.Parameter;
            if (slice.Decay != 0)
            {
                using var decay = (-learningRate * slice.Decay).ToScalar();
                p.add_(p, decay);
            }
            var m = _firstViews[i].mul_(_b1).add_(g, _oneMinusB1);
            var v = _secondViews[i].mul_(_b2).addcmul_(g, g, _oneMinusB2);
            using var denominator = v.sqrt();  // freed per parameter: kept to the scope's end, they would add up to a model-sized tensor
            p.addcdiv_(m, denominator.mul_(inverseCorrection2).add_(epsilon, KeptScalars.One), step);
        }
        AppliedSteps = t;
    }

    public float[] Snapshot() => [.. FlatState.ToHost(_first), .. FlatState.ToHost(_second)];

    public void Restore(ReadOnlySpan<float> state, long appliedSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(appliedSteps);
        int half = (int)_first.numel();
        FlatState.FromHost(state[..half], _first);
        FlatState.FromHost(state[half..], _second);
        AppliedSteps = appliedSteps;
    }

    public void Dispose()
    {
        FlatState.DisposeAll([.. _firstViews, .. _secondViews, _first, _second, _b1, _b2, _oneMinusB1, _oneMinusB2]);
    }
}
