namespace SegCluster.EndToEnd.Tests;

/// <summary>The end-to-end tests that train whole sweeps (each an embedded cluster training 2 trials at a time) run one
/// after another, not side by side, so two of them do not share the 2 CI cores with each other's training.</summary>
[CollectionDefinition(Name)]
public sealed class RealSweepCollection
{
    public const string Name = "real sweeps";
}
