namespace SegCluster.Abstractions.Specs;

/// <summary>
/// One training run, as data: what to train on, which network, how long, on how many workers.
/// The same spec runs on the embedded cluster and on a real one. Validate with <see cref="SpecValidation"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ExperimentSpec")]
public sealed record ExperimentSpec
{
    [Id(0)] public string Name { get; init; } = "quickstart";
    [Id(1)] public DatasetSpec Dataset { get; init; } = new();
    [Id(2)] public ModelSpec Model { get; init; } = new();
    [Id(3)] public TrainingSpec Training { get; init; } = new();
    /// <summary>Data-parallel workers (ranks). Global batch = Workers × Training.BatchPerWorker.</summary>
    [Id(4)] public int Workers { get; init; } = 2;
    /// <summary>Device of every worker: "cpu" or "cuda:N".</summary>
    [Id(5)] public string Device { get; init; } = "cpu";
    [Id(6)] public int Seed { get; init; }
    /// <summary>Label grid of the final loss (full resolution by default).</summary>
    [Id(7)] public LabelsSpec Labels { get; init; } = new();
    /// <summary>The loss (ce, class suppression or scribble-regularised) and its settings.</summary>
    [Id(8)] public LossSpec Loss { get; init; } = new();

    /// <summary>Optimizer steps the run takes: Training.Steps, or Training.Epochs over the train split.</summary>
    public int TotalSteps => Training.Epochs is { } epochs
        ? epochs * StepsPerEpoch
        : Training.Steps;

    public int StepsPerEpoch => (int)Math.Max(1, Dataset.TrainCount / ((long)Workers * Training.BatchPerWorker));

    /// <summary>Errors naming the field and the fix; empty when the spec is valid.</summary>
    public IReadOnlyList<string> Validate() => SpecValidation.Validate(this);
}
