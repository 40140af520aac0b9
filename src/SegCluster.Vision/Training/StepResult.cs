namespace SegCluster.Vision.Training;

/// <summary>What one data-parallel step did on this rank.</summary>
/// <param name="Loss">The GLOBAL loss: Σ_t w_t · (Σ over ranks of CE sums)_t / (global valid pixels)_t, identical on every rank.</param>
/// <param name="Images">Images this rank processed (its local batch); sum over ranks for the global batch.</param>
/// <param name="ForwardBackward">Forward, loss and backward time on this rank.</param>
/// <param name="AllReduce">Time inside <see cref="IGradientReducer.Sum"/> (count buffer + gradient buffer), waiting included; when
/// gradient buckets overlap backward, only the wait after backward (the communication backward did not hide).</param>
/// <param name="Optimizer">Unscaling, clipping and the optimiser step (the parameters' grads are views of the reduced buffer: no copy).</param>
/// <param name="AllReduceBytes">Bytes this rank handed to the reducer (4 per float).</param>
/// <param name="LearningRate">The rate this step's update used (after the schedule).</param>
/// <param name="GradientNorm">L2 norm of the global gradient before clipping.</param>
public sealed record StepResult(double Loss, int Images, TimeSpan ForwardBackward, TimeSpan AllReduce, TimeSpan Optimizer, long AllReduceBytes,
    double LearningRate = 0, double GradientNorm = 0)
{
    /// <summary>The fp16 loss scale after this step (1 in fp32 and bf16-mixed).</summary>
    public double LossScale { get; init; } = 1.0;

    /// <summary>Time the reducer spent on this step's sums, overlapped with backward or not (equal to
    /// <see cref="StepResult.AllReduce"/> without overlap).</summary>
    public TimeSpan AllReduceBusy { get; init; }

    /// <summary>Gradient buckets this step (0 on one rank, 1 without overlap).</summary>
    public int Buckets { get; init; }

    /// <summary>Buckets whose all-reduce started during backward (the rest started after it).</summary>
    public int OverlappedBuckets { get; init; }

    /// <summary>True when fp16-mixed skipped the update because the reduced gradient was not finite (on every rank alike).</summary>
    public bool Skipped { get; init; }
}
