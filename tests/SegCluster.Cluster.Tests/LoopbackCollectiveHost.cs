using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegCluster.Collectives;

namespace SegCluster.Cluster.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 hosting the collective service, as a node does.</summary>
internal sealed class LoopbackCollectiveHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackCollectiveHost(WebApplication app, string endpoint) => (_app, Endpoint) = (app, endpoint);

    public string Endpoint { get; }
    public CollectiveMailbox Mailbox => _app.Services.GetRequiredService<CollectiveMailbox>();

    public static async Task<LoopbackCollectiveHost> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddSegClusterCollectives();
        var app = builder.Build();
        app.MapSegClusterCollectives();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new LoopbackCollectiveHost(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
