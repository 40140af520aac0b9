using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Grains;

/// <summary>The persisted sweep: spec, workers, state and every trial's result. Written when the sweep starts, ends or
/// fails; in between, each trial's transitions go to its own small <see cref="SweepTrialRecord"/> (SweepGrain.DriveAsync),
/// which a resuming coordinator lays over this record's trials.</summary>
[GenerateSerializer, Alias("SegCluster.SweepRecord")]
public sealed record SweepRecord
{
    [Id(0)] public SweepSpec? Spec { get; init; }
    [Id(1)] public List<string> Workers { get; init; } = [];
    [Id(2)] public SweepState State { get; init; } = SweepState.Pending;
    [Id(3)] public List<TrialResult> Trials { get; init; } = [];
    /// <summary>How many times a coordinator took the sweep over after its predecessor was lost.</summary>
    [Id(4)] public int Resumes { get; init; }
    /// <summary>Why the coordinator itself failed (not a trial).</summary>
    [Id(5)] public string? Error { get; init; }
    /// <summary>spectral_skip has not yet analysed the labels (the driver does, before the first trial; again after a resume).</summary>
    [Id(6)] public bool SpectralSkipPending { get; init; }
}
