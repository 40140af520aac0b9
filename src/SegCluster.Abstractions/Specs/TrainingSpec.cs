namespace SegCluster.Abstractions.Specs;

/// <summary>Optimisation budget and hyperparameters (SGD with momentum; PAPERS.md §1 loss weights).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.TrainingSpec")]
public sealed record TrainingSpec
{
    [Id(0)] public int Steps { get; init; } = 800;
    /// <summary>When set, overrides Steps: this many passes over the train split.</summary>
    [Id(1)] public int? Epochs { get; init; }
    [Id(2)] public int BatchPerWorker { get; init; } = 8;
    [Id(3)] public double LearningRate { get; init; } = 0.05;
    [Id(4)] public double Momentum { get; init; } = 0.9;
    [Id(5)] public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Weight of the intermediate (SPG) prediction losses; the final loss has weight 1.</summary>
    [Id(6)] public double AuxiliaryWeight { get; init; } = 0.4;
    /// <summary>Validation batch. Below 16 on purpose: libtorch tries NNPACK for CPU convolutions with
    /// batch ≥ 16 and, on CPUs it does not support, logs a warning per call.</summary>
    [Id(7)] public int EvaluationBatch { get; init; } = 8;
    /// <summary>Write a checkpoint every this many steps (and after the last); 0 = none. A failed ring then
    /// resumes from the last one, so a failure costs at most this many steps.</summary>
    [Id(8)] public int CheckpointEvery { get; init; }
}
