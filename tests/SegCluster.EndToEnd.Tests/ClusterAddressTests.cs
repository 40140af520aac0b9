using System.CommandLine;
using SegCluster.Cli.Remote;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The cluster options a printed command carries (train --cluster's "follow it" / "stop it" lines after Ctrl+C, a
/// sweep's resume command, a lost connection's hint) are the ones the user gave: the address itself, not "--cluster ...",
/// and a token given as --token as a placeholder, never its value.</summary>
public sealed class ClusterAddressTests
{
    private static ClusterAddress AddressOf(params string[] args)
    {
        var remote = new RemoteClusterOptions();
        var command = new RootCommand();
        remote.AddTo(command);
        return remote.Address(command.Parse(args));
    }

    [Fact]
    public void Printed_commands_name_the_address_and_hide_the_token()
    {
        var given = AddressOf("--cluster", "10.0.0.5:6379,password=hunter2", "--cluster-id", "prod", "--token", "s3cret");
        Assert.Equal("--cluster '10.0.0.5:6379,password=*****' --cluster-id prod --token …", given.Arguments);
        Assert.DoesNotContain("s3cret", given.Arguments);
        Assert.DoesNotContain("hunter2", given.Arguments);
        Assert.Equal("--cluster 10.0.0.5:6379", AddressOf("--cluster", "10.0.0.5:6379").Arguments);
    }
}
