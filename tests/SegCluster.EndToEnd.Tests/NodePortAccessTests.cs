using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Net.Client;
using SegCluster.Collectives;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A real node host with a cluster token answers the HTTP API only on its HTTP port and only with the token; its
/// collective port serves the gRPC collective (which checks the token itself) and nothing else. Before, the API
/// answered on the collective port with no token at all (`curl --http2-prior-knowledge`).
/// </summary>
public sealed class NodePortAccessTests : IAsyncLifetime
{
    private const string Token = "port-test-token";
    private static readonly (HttpMethod Method, string Path)[] ApiCalls =
    [
        (HttpMethod.Get, "/api/scheduler"),
        (HttpMethod.Get, "/api/experiments/x"),
        (HttpMethod.Post, "/api/experiments/x"),
        (HttpMethod.Post, "/api/experiments/x/cancel"),
    ];

    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-ports-");
    private readonly int _collectivePort = LoopbackPorts.Next();
    private Cli.Embedded.EmbeddedCluster _node = null!;

    public async Task InitializeAsync() =>
        _node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints, new Dictionary<string, string?>
        {
            ["Node:Token"] = Token,
            ["Node:CollectivePort"] = _collectivePort.ToString(),
        });

    [Fact]
    public async Task The_api_is_not_served_on_the_collective_port_with_or_without_the_token()
    {
        foreach (var token in new[] { null, Token })
        {
            using var http = Client(_collectivePort, token, HttpVersion.Version20);
            foreach (var (method, path) in ApiCalls)
            {
                using var response = await http.SendAsync(Request(method, path, HttpVersion.Version20));
                Assert.True(response.StatusCode == HttpStatusCode.NotFound,
                    $"{method} {path} on the collective port with token '{token}': {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            using var metrics = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        }
        // Nothing was submitted or cancelled through it.
        Assert.Empty((await _node.Grains.GetGrain<Abstractions.Grains.ISchedulerGrain>(Abstractions.Grains.ISchedulerGrain.Default).GetSnapshotAsync()).Queue);
    }

    [Fact]
    public async Task The_api_on_the_http_port_needs_the_token_and_works_with_it()
    {
        using var anonymous = Client(_node.HttpPort, token: null, HttpVersion.Version11);
        using var refused = await anonymous.GetAsync("/api/scheduler");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var authorized = Client(_node.HttpPort, Token, HttpVersion.Version11);
        using var scheduler = await authorized.GetAsync("/api/scheduler");
        Assert.Equal(HttpStatusCode.OK, scheduler.StatusCode);
        Assert.Contains(_node.WorkerIds[0], await scheduler.Content.ReadAsStringAsync());

        // Probes stay open: liveness, and readiness once the silo is Active (it is: the worker registered).
        Assert.Equal("Healthy", await anonymous.GetStringAsync("/health"));
        Assert.Equal("Healthy", await anonymous.GetStringAsync("/health/ready"));
    }

    [Fact]
    public async Task The_collective_service_on_its_port_still_checks_the_token_itself()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_collectivePort}");
        var collective = new Collective.CollectiveClient(channel);
        var request = new DataPlaneRequest { GroupId = "g", Rank = 5, WorldSize = 2 };

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await collective.LocateDataPlaneAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        // With the token the call reaches the service's own validation (rank outside the world), not a 404.
        var headers = new Metadata { { CollectiveService.AuthorizationHeader, CollectiveService.BearerPrefix + Token } };
        var invalid = await Assert.ThrowsAsync<RpcException>(async () => await collective.LocateDataPlaneAsync(request, headers));
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
    }

    /// <summary>The collective service authorised a call only once it had read its message (up to 4 MB), so anyone could
    /// make the node read 4 MB per call. The token is now checked before the body is read: a call whose body never
    /// arrives is refused at once, Unauthenticated without a token, PermissionDenied with a wrong one.</summary>
    [Fact]
    public async Task A_collective_call_without_the_token_is_refused_before_its_message_is_read()
    {
        foreach (var (token, status) in new[] { ((string?)null, StatusCode.Unauthenticated), ("wrong-token", StatusCode.PermissionDenied) })
        {
            using var http = Client(_collectivePort, token, HttpVersion.Version20);
            using var body = new StalledGrpcMessage();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/segcluster.collectives.v1.Collective/Deposit")
            {
                Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = body,
            };
            request.Headers.TE.ParseAdd("trailers");
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            Assert.Equal(((int)status).ToString(), Assert.Single(response.Headers.GetValues("grpc-status")));
        }
    }

    /// <summary>A gRPC request body that announces a 4 MB message, then sends nothing more until disposed.</summary>
    private sealed class StalledGrpcMessage : HttpContent
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StalledGrpcMessage() => Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(new byte[] { 0, 0, 0x40, 0, 0 });  // not compressed, length 4 MB (big-endian)
            await stream.FlushAsync();
            await _released.Task;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            _released.TrySetResult();
            base.Dispose(disposing);
        }
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _checkpoints.Delete(recursive: true);
    }

    private static HttpClient Client(int port, string? token, Version version)
    {
        // Version 2.0 exactly over http:// is HTTP/2 with prior knowledge, as the gRPC port speaks it.
        var http = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, Version version) => new(method, path)
    {
        Version = version,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Content = method == HttpMethod.Post ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json") : null,
    };
}
