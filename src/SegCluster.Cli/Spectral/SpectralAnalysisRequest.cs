using SegCluster.Vision.Spectral;

namespace SegCluster.Cli.Spectral;

/// <summary>The label analysis a spectral sweep runs first: training labels analysed, shards, and the advisor's targets.</summary>
public sealed record SpectralAnalysisRequest(int Images, int Shards, GridAdvisorOptions Targets);
