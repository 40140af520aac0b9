using SegCluster.Cli.Commands;
using SegCluster.Cli.Remote;
using SegCluster.Cli.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The resume command a sweep prints for its unfinished trials is one a user can paste: --out only when not the
/// default and shell-quoted, --cluster-id only when not the default, and the Redis password as the caller redacted it.</summary>
public sealed class SweepResumeCommandTests
{
    [Fact]
    public void The_printed_resume_command_names_only_what_is_not_the_default_and_quotes_the_folder()
    {
        Assert.Equal("segcluster sweep --resume s-1", SweepRunner.ResumeCommand("s-1", SweepCommand.DefaultRoot));
        Assert.Equal("segcluster sweep --resume s-1 --out '/tmp/it'\\''s $HOME'", SweepRunner.ResumeCommand("s-1", new DirectoryInfo("/tmp/it's $HOME")));
        Assert.Equal("segcluster sweep --resume s-1 --cluster 'redis:6379,password=*****' --cluster-id prod",
            SweepRunner.ResumeCommand("s-1", SweepCommand.DefaultRoot, new ClusterAddress("redis:6379,password=*****", "prod")));
        Assert.Equal("segcluster sweep --resume s-1 --cluster 10.0.0.5:6379",
            SweepRunner.ResumeCommand("s-1", SweepCommand.DefaultRoot, new ClusterAddress("10.0.0.5:6379", "segcluster")));
    }
}
