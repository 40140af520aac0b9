namespace SegCluster.Abstractions.Sweeps;

[GenerateSerializer, Alias("SegCluster.SweepState")]
public enum SweepState { Pending, Running, Completed, Cancelled, Failed }
