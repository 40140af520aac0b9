namespace SegCluster.Cli.Spectral;

/// <summary>One shard of the analysis in report.json: its images, the node that computed it, how long it took, and
/// whether it was answered from the shard's record.</summary>
public sealed record SpectralShardSummary(int Shard, long Images, string ComputedBy, double Seconds, bool FromRecord);
