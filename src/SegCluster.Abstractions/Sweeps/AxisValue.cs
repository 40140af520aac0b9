namespace SegCluster.Abstractions.Sweeps;

/// <summary>The value one trial takes on one axis (canonical spec path, invariant-culture text).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.AxisValue")]
public sealed record AxisValue([property: Id(0)] string Path, [property: Id(1)] string Value);
