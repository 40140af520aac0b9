namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// An optimiser over the trainer's flat parameter and gradient buffers (parameter order, float32), so the
/// update is identical on every rank and its state is one array to checkpoint.
/// </summary>
public interface IFlatOptimizer
{
    /// <summary>Floats of optimiser state (momentum; AdamW: first then second moments).</summary>
    int StateLength { get; }

    /// <summary>Updates <paramref name="values"/> in place from <paramref name="gradients"/>; <paramref name="decay"/> is each element's weight decay.</summary>
    void Step(Span<float> values, ReadOnlySpan<float> gradients, ReadOnlySpan<float> decay, float learningRate, long completedSteps);

    /// <summary>A copy of the state, for checkpoints.</summary>
    float[] Snapshot();

    void Restore(ReadOnlySpan<float> state);
}
