namespace SegCluster.Vision.Training;

/// <summary>
/// What a checkpoint says about itself, so eval and predict can rebuild its network without the run that wrote it:
/// the spec it was trained from (an opaque JSON document; Vision does not know the spec types), the class names,
/// and the name and shape of every state-dict entry, which turns loading it into a model of another architecture
/// or class count into an error that names the first parameter that does not fit.
/// </summary>
/// <param name="Spec">The experiment spec as JSON; null when the writer had none.</param>
/// <param name="ClassNames">Class names in train-id order; empty when unknown.</param>
/// <param name="StateShapes">State-dict key → shape, in the model's order.</param>
public sealed record CheckpointMetadata(string? Spec, IReadOnlyList<string> ClassNames, IReadOnlyDictionary<string, long[]> StateShapes)
{
    /// <summary>The fp16 loss scaler's state when the trainer had one (fp16-mixed); null otherwise and in older files.</summary>
    public Precision.LossScalerState? LossScaler { get; init; }

    /// <summary>Updates the optimiser applied (the trainer's steps less skipped fp16 steps); null in older files, which
    /// resume with the completed steps instead.</summary>
    public long? OptimizerSteps { get; init; }

    /// <summary>The run's best validation up to this checkpoint; null when it had none (or in older files).</summary>
    public BestValidation? Best { get; init; }

    /// <summary>Class count of the checkpoint's classifier, when its class names were recorded.</summary>
    public int? NumClasses => ClassNames.Count > 0 ? ClassNames.Count : null;
}
