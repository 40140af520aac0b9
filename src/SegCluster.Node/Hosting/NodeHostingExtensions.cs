using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using OpenTelemetry.Metrics;
using SegCluster.Cluster;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Telemetry;
using SegCluster.Collectives;
using SegCluster.Node.Api;

namespace SegCluster.Node.Hosting;

/// <summary>The node's wiring, one extension per concern (Aspire style); Program.cs only calls these.</summary>
public static class NodeHostingExtensions
{
    /// <summary>Silo, collectives, telemetry and health on the builder, configured from the "Node" section.</summary>
    /// <param name="overrides">Settings that win over appsettings and the environment (the `segcluster node` flags).</param>
    public static WebApplicationBuilder AddSegClusterNode(this WebApplicationBuilder builder, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        AddPrefixedEnvironment(builder.Configuration);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        // One token for the whole node: the gRPC collective checks and sends Collectives:Token.
        if (builder.Configuration["Node:Token"] is { Length: > 0 } token) builder.Configuration["Collectives:Token"] = token;
        var node = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Which endpoints answer on which port: ClusterTokenMiddleware (the API only on the HTTP port).
            kestrel.ListenAnyIPOrLoopback(node, node.HttpPort, HttpProtocols.Http1);
            // gRPC without TLS needs an HTTP/2-only (prior knowledge) endpoint.
            kestrel.ListenAnyIPOrLoopback(node, node.CollectivePort, HttpProtocols.Http2);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = node.ShutdownTimeout);
        // A node refused at start for a setting prints one line, not Orleans' and the host's stacks of the same exception.
        StartRefusalLoggerFactory.Register(builder.Services);
        builder.AddSegClusterSilo(node);
        builder.Services.AddSegClusterGrainServices();
        builder.Services.AddSegClusterCollectives();
        builder.AddSegClusterTelemetry();
        builder.Services.AddSegClusterHealthChecks();
        // The API writes states as names ("Completed"), as the CLI shows them.
        // A status before the first step has loss NaN: written as "NaN", not a 500.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        return builder;
    }

    /// <summary>
    /// SEGCLUSTER_-prefixed environment variables (SEGCLUSTER_Node__Devices__0=cuda:0), ranked above appsettings and plain
    /// environment variables but below --Section:Key=value arguments: an image's baked-in SEGCLUSTER_ defaults must not
    /// beat the flags a user passes to `docker run`.
    /// </summary>
    private static void AddPrefixedEnvironment(ConfigurationManager configuration)
    {
        var prefixed = new EnvironmentVariablesConfigurationSource { Prefix = "SEGCLUSTER_" };
        var commandLine = configuration.Sources.OfType<CommandLineConfigurationSource>().FirstOrDefault();
        if (commandLine is null) configuration.Sources.Add(prefixed);
        else configuration.Sources.Insert(configuration.Sources.IndexOf(commandLine), prefixed);
    }

    /// <summary>Orleans silo named after the node (worker placement finds nodes by silo name). With Node:Redis:
    /// Redis membership and grain state, so nodes form one cluster and coordinators survive their node.
    /// Embedded default: localhost clustering and in-memory grain storage (in files with Node:StateDirectory). The Orleans dashboard when Node:Dashboard:Enabled.</summary>
    public static WebApplicationBuilder AddSegClusterSilo(this WebApplicationBuilder builder, NodeOptions node)
    {
        builder.UseOrleans(silo =>
        {
            silo.Configure<SiloOptions>(o => o.SiloName = node.NodeId);
            if (string.IsNullOrWhiteSpace(node.Redis))
            {
                silo.UseLocalhostClustering(node.SiloPort, node.GatewayPort);
                if (string.IsNullOrWhiteSpace(node.StateDirectory))
                    foreach (var name in ClusterStorage.All) silo.AddMemoryGrainStorage(name);
                else
                    silo.AddSegClusterFileGrainStorage(node.StateDirectory);
            }
            else
            {
                var redis = RedisConnection.Parse(node.Redis);
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (node.ClusterId, node.ClusterId));
                silo.ConfigureEndpoints(System.Net.IPAddress.Parse(RedisConnection.ResolveIPv4(node.AdvertiseHost)), node.SiloPort, node.GatewayPort, listenOnAnyHostAddress: !NodeOptions.IsLoopbackHost(node.AdvertiseHost));
                silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
                silo.AddSegClusterRedisGrainStorage(redis);
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    // Defaults take ~30 s to declare a node dead; training rings want seconds.
                    o.ProbeTimeout = TimeSpan.FromSeconds(node.FailureDetection.ProbeTimeoutSeconds);
                    o.NumMissedProbesLimit = node.FailureDetection.MissedProbes;
                    o.NumVotesForDeathDeclaration = node.FailureDetection.Votes;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(node.FailureDetection.ProbeTimeoutSeconds);
                });
            }
            if (node.Dashboard.Enabled) silo.AddDashboard();
        });
        return builder;
    }

    /// <summary>OpenTelemetry metrics of the SegCluster meter, exported for Prometheus, each metric holding at most
    /// Telemetry:SeriesLimit label sets (TelemetryOptions says why a long-lived node needs to choose it).</summary>
    public static WebApplicationBuilder AddSegClusterTelemetry(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(TelemetryOptions.Section);
        builder.Services.AddOptions<TelemetryOptions>().Bind(section)
            .Validate(o => o.SeriesLimit >= 1, "Telemetry:SeriesLimit must be a positive number of label sets per metric.").ValidateOnStart();
        var limit = section.Get<TelemetryOptions>()?.SeriesLimit ?? TelemetryOptions.DefaultSeriesLimit;
        int? cardinality = limit >= 1 ? limit : null;  // an invalid limit fails the options validation at start
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MetricNames.Meter)
            .AddView(instrument => instrument.Meter.Name != MetricNames.Meter ? null
                : SegClusterMetrics.SumAndCountOnly.Contains(instrument.Name) ? new ExplicitBucketHistogramConfiguration { Boundaries = [], CardinalityLimit = cardinality }
                : new MetricStreamConfiguration { CardinalityLimit = cardinality })
            .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapSegClusterNode(this WebApplication app)
    {
        // Routing first, so the middleware sees which endpoint a request reached and on which port.
        app.UseRouting();
        app.UseMiddleware<ClusterTokenMiddleware>();
        app.MapSegClusterHealthChecks();
        app.MapSegClusterApi();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapSegClusterCollectives();
        var node = app.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        if (node.Dashboard.Enabled) app.MapOrleansDashboard(routePrefix: node.Dashboard.Path);
        if (node.OpenBeyondLoopback())  // NodeOptionsValidator refuses it unless allowed
            app.Logger.LogWarning("This node listens beyond loopback without a cluster token (Node:AllowUnauthenticated): anyone who " +
                                  "reaches its ports can submit, cancel and read runs and call its grains. Set Node:Token unless this network is trusted.");
        if (node.ListensBeyondLoopback() && node.PathRoots.Count == 0)
            app.Logger.LogWarning("Spec paths are unconfined: this node listens beyond loopback and Node:PathRoots is not set, so whoever may " +
                                  "submit a spec can make it read any file this process can (dataset.path, training.resume_from, training.load_from, " +
                                  "model.backbone_weights, eval's --checkpoint and --dataset). Set Node:PathRoots (SEGCLUSTER_Node__PathRoots__0=/data, " +
                                  "__1=...) to the directories specs may name.");
        return app;
    }

    private static void ListenAnyIPOrLoopback(this KestrelServerOptions kestrel, NodeOptions node, int port, HttpProtocols protocols)
    {
        // A node advertising a loopback address listens on loopback only, unless told otherwise; any other on every interface.
        if (!node.ListensBeyondLoopback())
            kestrel.Listen(System.Net.IPAddress.Loopback, port, o => o.Protocols = protocols);
        else
            kestrel.ListenAnyIP(port, o => o.Protocols = protocols);
    }
}
