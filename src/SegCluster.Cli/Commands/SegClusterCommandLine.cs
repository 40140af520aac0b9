using System.CommandLine;

namespace SegCluster.Cli.Commands;

/// <summary>The `segcluster` command tree.</summary>
public static class SegClusterCommandLine
{
    public static RootCommand Create() => new("SegCluster: distributed semantic-segmentation training on Orleans and TorchSharp.")
    {
        QuickstartCommand.Create(),
        SpectralCommand.Create(),
        ModelCommand.Create(),
        DatasetCommand.Create(),
    };
}
