using Microsoft.AspNetCore.Builder;
using SegCluster.Node.Hosting;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Where a node's settings come from, lowest first: appsettings, plain environment, SEGCLUSTER_ environment, then
/// --Section:Key=value arguments (docs/cluster.md). Before, the SEGCLUSTER_ source was added after the arguments, so an
/// image's baked-in SEGCLUSTER_Node__Devices__0=cpu beat `docker run image --Node:Devices:0=cuda:0`.
/// </summary>
public sealed class NodeConfigurationPrecedenceTests
{
    [Fact]
    public void Arguments_win_over_prefixed_environment_variables()
    {
        // Keys of this test only: environment variables are process-wide, and tests run in parallel.
        Environment.SetEnvironmentVariable("SEGCLUSTER_PrecedenceProbe__Both", "environment");
        Environment.SetEnvironmentVariable("SEGCLUSTER_PrecedenceProbe__EnvironmentOnly", "environment");
        try
        {
            var builder = WebApplication.CreateBuilder(["--PrecedenceProbe:Both=argument"]);
            builder.AddSegClusterNode();

            Assert.Equal("argument", builder.Configuration["PrecedenceProbe:Both"]);
            Assert.Equal("environment", builder.Configuration["PrecedenceProbe:EnvironmentOnly"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SEGCLUSTER_PrecedenceProbe__Both", null);
            Environment.SetEnvironmentVariable("SEGCLUSTER_PrecedenceProbe__EnvironmentOnly", null);
        }
    }
}
