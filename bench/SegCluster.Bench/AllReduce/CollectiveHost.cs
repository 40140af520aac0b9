using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegCluster.Collectives;

namespace SegCluster.Bench.AllReduce;

/// <summary>One rank's collective endpoint: Kestrel HTTP/2 on 127.0.0.1:port, wired as a node wires it.</summary>
internal sealed class CollectiveHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CollectiveHost(WebApplication app, int port)
    {
        _app = app;
        Endpoint = $"http://127.0.0.1:{port}";
        Mailbox = app.Services.GetRequiredService<CollectiveMailbox>();
    }

    public string Endpoint { get; }

    public CollectiveMailbox Mailbox { get; }

    public static async Task<CollectiveHost> StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddSegClusterCollectives();
        var app = builder.Build();
        app.MapSegClusterCollectives();
        await app.StartAsync();
        return new CollectiveHost(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
