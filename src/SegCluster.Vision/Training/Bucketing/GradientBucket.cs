namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// A run of consecutive trainable parameters whose gradients are all-reduced together: slices
/// [<paramref name="FirstSlice"/>, <paramref name="EndSlice"/>) of the trainer's parameter order, elements
/// [<paramref name="Offset"/>, <paramref name="Offset"/> + <paramref name="Length"/>) of its flat gradient.
/// </summary>
public readonly record struct GradientBucket(int Index, int FirstSlice, int EndSlice, int Offset, int Length);
