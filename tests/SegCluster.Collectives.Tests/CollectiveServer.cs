using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SegCluster.Collectives.Tests;

/// <summary>
/// One simulated process: a real Kestrel server on 127.0.0.1 (ephemeral port, HTTP/2 cleartext)
/// hosting the collective service, configured the way a node would be (AddSegClusterCollectives).
/// </summary>
internal sealed class CollectiveServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CollectiveServer(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
        Mailbox = app.Services.GetRequiredService<CollectiveMailbox>();
    }

    public string Endpoint { get; }

    public CollectiveMailbox Mailbox { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="configuration">Extra configuration keys, e.g. <c>Collectives:Token</c>.</param>
    public static async Task<CollectiveServer> StartAsync(IReadOnlyDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSegClusterCollectives();

        var app = builder.Build();
        app.MapSegClusterCollectives();
        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        return new CollectiveServer(app, addresses.Addresses.Single());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
