using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// An optimiser driven by the trainer's flat, all-reduced gradient (parameter order, float32). It updates the
/// parameters in place on their own device with tensor ops, so a GPU step never round-trips the weights
/// through the host; its state is flat too, one array to checkpoint and identical on every rank.
/// </summary>
public interface IFlatOptimizer : IDisposable
{
    /// <summary>Floats of optimiser state (momentum; AdamW: first then second moments).</summary>
    long StateLength { get; }

    /// <summary>Updates applied so far (<see cref="Step"/> calls, plus those restored): AdamW's bias correction and SGD's
    /// first-step buffer count these, not the trainer's steps, as a step the fp16 loss scaler skips never reaches the
    /// optimiser (PyTorch's GradScaler skips optimizer.step()).</summary>
    long AppliedSteps { get; }

    /// <summary>Updates every parameter from its gradient, <paramref name="gradients"/>[i] the view of parameter i's slice of
    /// the flat reduced gradient (on the parameters' device); the views may be modified. Counts one applied step.</summary>
    void Step(IReadOnlyList<Tensor> gradients, float learningRate);

    /// <summary>A host copy of the state, for checkpoints.</summary>
    float[] Snapshot();

    /// <summary>Restores a <see cref="Snapshot"/> and the <see cref="AppliedSteps"/> it was taken after.</summary>
    void Restore(ReadOnlySpan<float> state, long appliedSteps);
}
