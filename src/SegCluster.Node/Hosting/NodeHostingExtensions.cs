using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using OpenTelemetry.Metrics;
using SegCluster.Cluster;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;

namespace SegCluster.Node.Hosting;

/// <summary>The node's wiring, one extension per concern (Aspire style); Program.cs only calls these.</summary>
public static class NodeHostingExtensions
{
    /// <summary>Silo, collectives, telemetry and health on the builder, configured from the "Node" section.</summary>
    public static WebApplicationBuilder AddSegClusterNode(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddEnvironmentVariables("SEGCLUSTER_");
        var node = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenAnyIPOrLoopback(node.AdvertiseHost, node.HttpPort, HttpProtocols.Http1);
            // gRPC without TLS needs an HTTP/2-only (prior knowledge) endpoint.
            kestrel.ListenAnyIPOrLoopback(node.AdvertiseHost, node.CollectivePort, HttpProtocols.Http2);
        });
        builder.AddSegClusterSilo(node);
        builder.Services.AddSegClusterGrainServices();
        builder.Services.AddSegClusterCollectives();
        builder.AddSegClusterTelemetry();
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>Orleans silo. Embedded default: localhost clustering and in-memory grain storage; the Orleans dashboard when Node:Dashboard:Enabled.</summary>
    public static WebApplicationBuilder AddSegClusterSilo(this WebApplicationBuilder builder, NodeOptions node)
    {
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(node.SiloPort, node.GatewayPort);
            silo.AddMemoryGrainStorage(ClusterStorage.Experiments);
            silo.AddMemoryGrainStorage(ClusterStorage.Sweeps);
            if (node.Dashboard.Enabled) silo.AddDashboard();
        });
        return builder;
    }

    /// <summary>OpenTelemetry metrics of the SegCluster meter, exported for Prometheus.</summary>
    public static WebApplicationBuilder AddSegClusterTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MetricNames.Meter)
            .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapSegClusterNode(this WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapSegClusterCollectives();
        var dashboard = app.Services.GetRequiredService<IOptions<NodeOptions>>().Value.Dashboard;
        if (dashboard.Enabled) app.MapOrleansDashboard(routePrefix: dashboard.Path);
        return app;
    }

    private static void ListenAnyIPOrLoopback(this KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols)
    {
        // A node advertising a loopback address listens on loopback only; otherwise on every interface.
        if (host is "127.0.0.1" or "localhost")
            kestrel.Listen(System.Net.IPAddress.Loopback, port, o => o.Protocols = protocols);
        else
            kestrel.ListenAnyIP(port, o => o.Protocols = protocols);
    }
}
