namespace SegCluster.Vision.Training;

/// <summary>
/// The loss or the gradients are not finite (or fp16's loss scale reached its floor): the run diverged. Every rank
/// throws it at the same step, as the verdict is taken on all-reduced values, and no parameter was changed. Not a
/// failure that re-forming the ring mends: the same weights and data diverge again.
/// </summary>
public sealed class TrainingDivergedException(string message) : ExplainedRunException(message);
