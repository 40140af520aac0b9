using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace SegCluster.Collectives;

public static class CollectiveServiceCollectionExtensions
{
    // Room for the protobuf fields around the payload (group id, indices).
    private const int MessageOverheadBytes = 64 * 1024;

    // gRPC's default cap; we accept at least this so a peer with the default ChunkBytes always fits.
    private const int DefaultGrpcMessageBytes = 4 << 20;

    /// <summary>
    /// Registers the mailbox singleton (keeping untaken chunks as long as <see cref="CollectiveMailbox.RetentionFor"/>
    /// the options, on the registered <see cref="TimeProvider"/> if any), <see cref="CollectiveOptions"/> (bound from the
    /// "Collectives" configuration section when present, validated at start-up), and gRPC with a receive limit that
    /// fits one chunk. Map the endpoint with <c>MapSegClusterCollectives</c>.
    /// </summary>
    public static IServiceCollection AddSegClusterCollectives(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.TryAddSingleton(provider => new CollectiveMailbox(provider.GetService<TimeProvider>() ?? TimeProvider.System,
            CollectiveMailbox.RetentionFor(provider.GetRequiredService<IOptions<CollectiveOptions>>().Value)));
        services.AddOptions<CollectiveOptions>()
            .BindConfiguration(CollectiveOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CollectiveOptions>, CollectiveOptionsValidator>());

        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions>()
            .Configure<IOptions<CollectiveOptions>>((grpc, collective) =>
            {
                var chunk = Math.Max(collective.Value.ChunkBytes, DefaultGrpcMessageBytes);
                grpc.MaxReceiveMessageSize = Math.Max(grpc.MaxReceiveMessageSize ?? 0, chunk + MessageOverheadBytes);
            });

        // Kestrel's default HTTP/2 windows (1 MB connection, 768 KB stream) would stall each
        // 1 MB chunk for a window update round trip; raise them to a few chunks. Only raises.
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            var http2 = kestrel.Limits.Http2;
            http2.InitialConnectionWindowSize = Math.Max(http2.InitialConnectionWindowSize, 16 << 20);
            http2.InitialStreamWindowSize = Math.Max(http2.InitialStreamWindowSize, 8 << 20);
        });

        return services;
    }
}
