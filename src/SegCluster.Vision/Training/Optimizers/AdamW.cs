namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// AdamW (Loshchilov and Hutter, decoupled weight decay; PyTorch's defaults β = (0.9, 0.999), ε = 1e-8):
/// p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·m̂/(√v̂ + ε) with bias-corrected m̂, v̂.
/// The optimiser of ViT backbones.
/// </summary>
public sealed class AdamW(int length, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) : IFlatOptimizer
{
    private readonly float[] _first = new float[length];
    private readonly float[] _second = new float[length];

    public int StateLength => 2 * _first.Length;

    public void Step(Span<float> values, ReadOnlySpan<float> gradients, ReadOnlySpan<float> decay, float learningRate, long completedSteps)
    {
        long t = completedSteps + 1;
        float b1 = (float)beta1, b2 = (float)beta2, eps = (float)epsilon;
        float correction1 = (float)(1 - Math.Pow(beta1, t)), correction2Sqrt = (float)Math.Sqrt(1 - Math.Pow(beta2, t));
        float stepSize = learningRate / correction1;
        for (int i = 0; i < values.Length; i++)
        {
            float g = gradients[i];
            values[i] -= learningRate * decay[i] * values[i];
            _first[i] = b1 * _first[i] + (1 - b1) * g;
            _second[i] = b2 * _second[i] + (1 - b2) * g * g;
            values[i] -= stepSize * _first[i] / (MathF.Sqrt(_second[i]) / correction2Sqrt + eps);
        }
    }

    public float[] Snapshot() => [.. _first, .. _second];

    public void Restore(ReadOnlySpan<float> state)
    {
        state[.._first.Length].CopyTo(_first);
        state[_first.Length..].CopyTo(_second);
    }
}
