using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Grains;

/// <summary>The persisted part of an experiment: enough to report it, and to re-form its ring from the last
/// checkpoint, after the coordinator moves to another node.</summary>
[GenerateSerializer, Alias("SegCluster.ExperimentRecord")]
public sealed record ExperimentRecord
{
    [Id(0)] public ExperimentSpec? Spec { get; init; }
    /// <summary>Workers of the current ring, by rank; empty while the experiment waits for a new gang.</summary>
    [Id(1)] public List<string> Workers { get; init; } = [];
    [Id(2)] public ExperimentState State { get; init; } = ExperimentState.Pending;
    [Id(3)] public EvaluationReport? Evaluation { get; init; }
    [Id(4)] public string? Error { get; init; }
    /// <summary>How many times the ring was formed; part of the ring id.</summary>
    [Id(5)] public int Attempt { get; init; }
    /// <summary>Submitted through the scheduler, which owns its workers: a broken ring is re-formed, not failed.</summary>
    [Id(6)] public bool Scheduled { get; init; }
    /// <summary>Last good checkpoint reported by rank 0.</summary>
    [Id(7)] public CheckpointRecord? Checkpoint { get; init; }
    /// <summary>training.resume_from with its step: where the ring starts until this run writes a checkpoint of its own.</summary>
    [Id(10)] public CheckpointRecord? ResumedFrom { get; init; }
    /// <summary>Where a new formation of the ring starts: the last checkpoint, else the one the run resumed from.</summary>
    public CheckpointRecord? ResumePoint => Checkpoint ?? ResumedFrom;
    [Id(8)] public int Recoveries { get; init; }
    [Id(9)] public int StepsRedone { get; init; }
    /// <summary>Periodic validations reported by rank 0 (training.validate_every).</summary>
    [Id(40)] public List<ValidationPoint> Validations { get; init; } = [];
    /// <summary>Best checkpoint by training.best_metric, written by rank 0 next to the last one.</summary>
    [Id(41)] public CheckpointRecord? BestCheckpoint { get; init; }
    /// <summary>The best the checkpoint of training.resume_from records, read at the start: the run's best until one of its
    /// validations beats it (<see cref="BestCheckpoint"/> is set then).</summary>
    [Id(45)] public EarlierBest? EarlierBest { get; init; }
    /// <summary>Ranks of the current attempt that reported completion; the run completes when every rank has.</summary>
    [Id(42)] public List<int> CompletedRanks { get; init; } = [];
    /// <summary>Images trained by all ranks, and the time from the first step report to the last
    /// (images/s = Images / TrainingTime, unchanged after the run ends).</summary>
    [Id(43)] public long Images { get; init; }
    [Id(44)] public TimeSpan TrainingTime { get; init; }
}
