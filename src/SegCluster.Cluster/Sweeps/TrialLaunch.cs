using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Sweeps;

/// <summary>What a trial runner gets: the trial, the experiment it runs as (id unique per attempt) and its workers.</summary>
public sealed record TrialLaunch(string SweepId, int Index, string ExperimentId, ExperimentSpec Spec, IReadOnlyList<string> Workers);
