using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SegCluster.Abstractions.Grains;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Embedded;

/// <summary>
/// A whole SegCluster node in this process, no servers needed: localhost clustering, memory storage,
/// <c>workers</c> devices, gRPC collective and /metrics on loopback. The same host a real node runs.
/// </summary>
public sealed class EmbeddedCluster : IAsyncDisposable
{
    public const string NodeId = "local";

    private readonly WebApplication _app;

    private EmbeddedCluster(WebApplication app, int httpPort, IReadOnlyList<string> workerIds)
    {
        _app = app;
        HttpPort = httpPort;
        WorkerIds = workerIds;
    }

    /// <summary>
    /// Node settings that make this node's workers reduce over the real network ring (loopback TCP, the node's wire
    /// format) instead of summing in memory, as ranks sharing a node otherwise do: a wire format only exists there.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> NetworkRing { get; } =
        new Dictionary<string, string?> { [$"{Collectives.CollectiveOptions.SectionName}:{nameof(Collectives.CollectiveOptions.NodeLocalReduction)}"] = "false" };

    public int HttpPort { get; }
    public IReadOnlyList<string> WorkerIds { get; }
    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();
    public Uri MetricsUri => new($"http://127.0.0.1:{HttpPort}/metrics");

    /// <param name="httpPort">Port of /metrics and /health; 0 picks a free one.</param>
    /// <param name="overrides">Node settings that win over the defaults here (e.g. Node:CheckpointDirectory).</param>
    public static async Task<EmbeddedCluster> StartAsync(int workers, string device, int httpPort, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        httpPort = httpPort == 0 ? FreeTcpPort() : httpPort;
        var settings = new Dictionary<string, string?>
        {
            ["Node:NodeId"] = NodeId,
            ["Node:AdvertiseHost"] = "127.0.0.1",
            ["Node:HttpPort"] = Invariant(httpPort),
            ["Node:CollectivePort"] = Invariant(FreeTcpPort()),
            ["Node:SiloPort"] = Invariant(FreeTcpPort()),
            ["Node:GatewayPort"] = Invariant(FreeTcpPort()),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Microsoft.Extensions.Hosting"] = "None",  // a failed start is reported below, in one line
        };
        for (var i = 0; i < workers; i++) settings[$"Node:Devices:{i}"] = device;
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;

        // Checked before the silo starts: a failed Kestrel bind would otherwise leave Orleans logging errors while it shuts down.
        if (httpPort != 0 && !PortIsFree(httpPort)) throw PortInUse(httpPort, inner: null);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSegClusterNode();
        var app = builder.Build();
        app.MapSegClusterNode();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e) when (IsAddressInUse(e))
        {
            await app.DisposeAsync();
            throw PortInUse(httpPort, e);
        }
        var ids = Enumerable.Range(0, workers).Select(i => Abstractions.Grains.WorkerIds.For(NodeId, i)).ToList();
        return new EmbeddedCluster(app, httpPort, ids);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static InvalidOperationException PortInUse(int port, Exception? inner) =>
        new($"Port {port} is already in use; pass --metrics-port with a free port, or 0 to pick one.", inner);

    private static bool PortIsFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }

    /// <summary>Kestrel wraps the socket error in its own AddressInUseException.</summary>
    private static bool IsAddressInUse(Exception e) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } or Microsoft.AspNetCore.Connections.AddressInUseException;

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
