using SegCluster.Cli.Output;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Cli.Remote;

/// <summary>A cluster as the commands this CLI prints name it, to copy: Redis with any password redacted, the Orleans
/// cluster id, and whether the token was given as --token.</summary>
public sealed record ClusterAddress(string Redis, string ClusterId, bool TokenOption = false)
{
    /// <summary>"--cluster REDIS", with --cluster-id when not the default and `--token …` when the token was given as --token:
    /// never its value, which a printed line would leave in the terminal and in logs (a token from SEGCLUSTER_TOKEN is
    /// still in the environment of the next command).</summary>
    public string Arguments =>
        $"--cluster {ShellWord.Quote(Redis)}" +
        (ClusterId == NodeOptions.DefaultClusterId ? "" : $" --cluster-id {ShellWord.Quote(ClusterId)}") +
        (TokenOption ? " --token …" : "");
}
