namespace SegCluster.Abstractions.Sweeps;

/// <summary>A metric at a step: a learning-curve point, or a trial's value at an ASHA rung.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.CurvePoint")]
public sealed record CurvePoint([property: Id(0)] int Step, [property: Id(1)] double Value);
