namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// PyTorch SGD (dampening 0, no Nesterov): d = g + wd·p; buf = d on the first step, else momentum·buf + d;
/// p −= lr·buf. Managed rather than torch.optim.SGD: TorchSharp 0.107's SGD.step crashed here with corrupted
/// Scalar arguments ("Unknown scalar type") during long runs.
/// </summary>
public sealed class SgdMomentum(int length, double momentum) : IFlatOptimizer
{
    private readonly float[] _momentum = new float[length];

    public int StateLength => _momentum.Length;

    public void Step(Span<float> values, ReadOnlySpan<float> gradients, ReadOnlySpan<float> decay, float learningRate, long completedSteps)
    {
        float mu = (float)momentum;
        bool first = completedSteps == 0;
        for (int i = 0; i < values.Length; i++)
        {
            float d = gradients[i] + decay[i] * values[i];
            float buf = first ? d : mu * _momentum[i] + d;
            _momentum[i] = buf;
            values[i] -= learningRate * buf;
        }
    }

    public float[] Snapshot() => (float[])_momentum.Clone();

    public void Restore(ReadOnlySpan<float> state) => state.CopyTo(_momentum);
}
