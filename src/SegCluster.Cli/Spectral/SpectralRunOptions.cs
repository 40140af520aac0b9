using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cli.Spectral;

/// <summary>Inputs of one `segcluster spectral` run: the data (as an experiment spec's dataset), how many training labels
/// to analyse, in how many shards, the advisor's targets (null: its defaults), and where the report goes.</summary>
public sealed record SpectralRunOptions(DirectoryInfo Output, ExperimentSpec Spec, int Images, int Shards, int BatchSize = 8, GridAdvisorOptions? Advisor = null);
