using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Training;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Embedded;

/// <summary>
/// A whole SegCluster node in this process, no servers needed: localhost clustering, memory storage (files with a
/// Node:StateDirectory override, as `sweep` keeps its state),
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
    public static Task<EmbeddedCluster> StartAsync(int workers, string device, int httpPort, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string?>? overrides = null) =>
        StartAsync(workers, device, httpPort, FreeTcpPort, cancellationToken, overrides);

    /// <param name="pickPort">Picks a port that is free now (tests hand out taken ones); null = any free one.</param>
    /// <param name="services">Registrations after the node's own, which they replace (tests: a fake clock, a call filter).</param>
    internal static async Task<EmbeddedCluster> StartAsync(int workers, string device, int httpPort, Func<int>? pickPort,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    {
        pickPort ??= FreeTcpPort;
        // Checked before the silo starts: a failed Kestrel bind would otherwise leave Orleans logging errors while it shuts down.
        if (httpPort != 0 && !PortBinding.IsFree(httpPort)) throw PortInUse(httpPort, inner: null);
        for (var attempt = 1; ; attempt++)
        {
            // The ports picked here are free when picked, but another process may bind one before the node does (as
            // parallel test hosts and CI jobs do): then the node is started again on newly picked ones.
            var ports = (Http: httpPort == 0 ? pickPort() : httpPort, Collective: pickPort(), Silo: pickPort(), Gateway: pickPort());
            try
            {
                return await StartOnceAsync(workers, device, ports, cancellationToken, overrides, services);
            }
            catch (Exception e) when (PortBinding.IsAddressInUse(e))
            {
                if (httpPort != 0 && !PortBinding.IsFree(httpPort)) throw PortInUse(httpPort, e);
                if (attempt == PortAttempts)
                    throw new InvalidOperationException(
                        $"The embedded node could not bind its loopback ports (last picked: {ports.Http}, {ports.Collective}, {ports.Silo}, {ports.Gateway}): " +
                        $"in each of {PortAttempts} sets another process took one before the node bound it.", e);
            }
        }
    }

    /// <summary>Sets of ports tried. Picked from the kernel's ephemeral range (port 0), a port can be handed to another
    /// process's outgoing connection before the node binds it. In CI, EmbeddedClusterPortTests (whose first set is lost on
    /// purpose) needed its third and then last set: 3 left one spare set where parallel test hosts connect a lot.</summary>
    private const int PortAttempts = 6;

    private static async Task<EmbeddedCluster> StartOnceAsync(int workers, string device, (int Http, int Collective, int Silo, int Gateway) ports,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? overrides, Action<IServiceCollection>? services)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Node:NodeId"] = NodeId,
            ["Node:AdvertiseHost"] = "127.0.0.1",
            ["Node:HttpPort"] = Invariant(ports.Http),
            ["Node:CollectivePort"] = Invariant(ports.Collective),
            ["Node:SiloPort"] = Invariant(ports.Silo),
            ["Node:GatewayPort"] = Invariant(ports.Gateway),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Microsoft.Extensions.Hosting"] = "None",  // a failed start is reported by the caller, in one line
        };
        for (var i = 0; i < workers; i++) settings[$"Node:Devices:{i}"] = device;
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSegClusterNode();
        // The command prints a failed run's reason once, so the node's console does not repeat it: not the experiment's error
        // line, nor each rank's warning with the same reason. A rank's unexpected failure (an error, with its stack) and the
        // loop's other warnings (old checkpoints not deleted, a lost step report) still show.
        builder.Logging.AddFilter<ConsoleLoggerProvider>(typeof(ExperimentGrain).FullName, level => level is LogLevel.Warning or LogLevel.Critical);
        builder.Logging.AddFilter<ConsoleLoggerProvider>(WorkerTrainingLoop.FailureCategory, level => level >= LogLevel.Error);
        builder.Services.AddSingleton<IHostLifetime, CommandOwnedLifetime>();
        services?.Invoke(builder.Services);
        WebApplication? app = null;
        try
        {
            app = builder.Build();
            app.MapSegClusterNode();  // reads the node's options: an invalid setting can throw here already
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e)
        {
            if (app is not null) await app.DisposeAsync();
            // A setting this process cannot honour (e.g. --device cuda:0 on a CPU build): one error line for the caller.
            if (e is OptionsValidationException invalid) throw new InvalidOperationException(string.Join(" ", invalid.Failures), e);
            throw;
        }
        var ids = Enumerable.Range(0, workers).Select(i => Abstractions.Grains.WorkerIds.For(NodeId, i)).ToList();
        return new EmbeddedCluster(app, ports.Http, ids);
    }

    /// <summary>Waits until no training loop holds a worker's device, at most <paramref name="limit"/> in all: a cancelled
    /// loop stops at its next step boundary, and stopping the node under a running one logs a busy worker's deactivation.</summary>
    public Task WaitForLoopsAsync(TimeSpan limit) => Task.Run(() =>
    {
        var devices = _app.Services.GetRequiredService<DeviceOccupancy>();
        var deadline = DateTime.UtcNow + limit;
        foreach (var worker in WorkerIds)
            devices.Occupy(worker, TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)), CancellationToken.None)?.Dispose();
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The command owns Ctrl+C and SIGTERM (System.CommandLine cancels its token, and the command stops this node when
    /// it has cleaned up): the default console lifetime would also react to them, cancelling a node start part-way (Orleans
    /// then logs errors with their stacks) and signalling the node to stop under the command's own cleanup.</summary>
    private sealed class CommandOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static InvalidOperationException PortInUse(int port, Exception? inner) =>
        new($"Port {port} is already in use; pass --metrics-port with a free port, or 0 to pick one.", inner);

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
