using Grpc.Core;
using Grpc.Net.Client;

namespace SegCluster.Collectives;

/// <summary>The gRPC client side of the collective service: one channel to a peer process, and the token header.</summary>
internal static class CollectiveChannels
{
    public static GrpcChannel Open(string endpoint, CollectiveOptions options) =>
        GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // Fail fast on an unreachable peer instead of the OS connect timeout.
                ConnectTimeout = options.Timeout,
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            },
            MaxSendMessageSize = null,
            DisposeHttpClient = true,
        });

    /// <summary><c>authorization: Bearer &lt;token&gt;</c> when a cluster token is configured, else none.</summary>
    public static Metadata AuthorizationHeaders(CollectiveOptions options)
    {
        var headers = new Metadata();
        if (options.Token is not null)
        {
            headers.Add(CollectiveService.AuthorizationHeader, CollectiveService.BearerPrefix + options.Token);
        }

        return headers;
    }
}
