namespace SegCluster.Cli.Spectral;

/// <summary>Inputs of one `segcluster spectral` run (synthetic dataset).</summary>
public sealed record SpectralRunOptions(DirectoryInfo Output, int Images, int Height, int Width, int NumClasses, int Seed, int BatchSize = 8);
