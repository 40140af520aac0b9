using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SegCluster.Node.Hosting;

namespace SegCluster.Node.Tests.Hosting;

/// <summary>
/// A stopping node cancels its training loops (a cancelled loop may take 20 s, rank 0 then finishes a checkpoint write)
/// and leaves the cluster: .NET's default 30 s host shutdown limit cut that short, whatever grace the orchestrator gave.
/// Node:ShutdownTimeout sets the host's limit (45 s by default; the helm chart derives it from the pod's grace).
/// </summary>
public sealed class NodeShutdownTests
{
    [Theory]
    [InlineData(null, 45)]
    [InlineData("00:00:50", 50)]
    public void The_hosts_shutdown_limit_is_Node_ShutdownTimeout(string? setting, int seconds)
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddSegClusterNode(setting is null ? null : new Dictionary<string, string?> { ["Node:ShutdownTimeout"] = setting });
        using var app = builder.Build();

        Assert.Equal(TimeSpan.FromSeconds(seconds), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }
}
