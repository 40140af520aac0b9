using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SegCluster.Cluster.Nodes;
using SegCluster.Collectives;
using SegCluster.Node.Api;

namespace SegCluster.Node.Tests.Api;

/// <summary>ClusterTokenMiddleware on one request at a time (a DefaultHttpContext with the local port, path, header and
/// routed endpoint set as Kestrel and routing would): which port answers what, and the token on each.</summary>
public sealed class ClusterTokenMiddlewareTests
{
    private const int HttpPort = 8080;
    private const int CollectivePort = 8081;
    private const string Token = "s3cret-token";

    private static readonly Endpoint CollectiveEndpoint = GrpcEndpoint(typeof(CollectiveService));
    private static readonly Endpoint ApiEndpoint = new(_ => Task.CompletedTask, EndpointMetadataCollection.Empty, "GET /api/experiments");

    [Fact]
    public async Task An_api_request_without_the_token_is_401_naming_the_header_and_reaches_no_endpoint()
    {
        var answer = await Invoke(HttpPort, "/api/experiments", authorization: null);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status401Unauthorized, answer.Status);
        Assert.Equal("Bearer", answer.Headers.WWWAuthenticate.ToString());
        Assert.Equal("The SegCluster API requires 'authorization: Bearer <cluster token>'.\n", answer.Body);
    }

    [Theory]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer s3cret-toke")]      // a prefix of the token
    [InlineData("Bearer s3cret-token ")]    // the token and more
    [InlineData("Bearer S3CRET-TOKEN")]     // tokens compare exactly
    [InlineData("Bearer ")]
    public async Task An_api_request_with_a_wrong_token_is_401_saying_it_is_wrong(string authorization)
    {
        var answer = await Invoke(HttpPort, "/api/experiments", authorization);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status401Unauthorized, answer.Status);
        Assert.Equal("The cluster token is wrong.\n", answer.Body);
        Assert.DoesNotContain(Token, answer.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Basic czNjcmV0LXRva2Vu")]  // not a Bearer header: no token presented
    [InlineData("s3cret-token")]
    public async Task A_header_that_is_not_bearer_counts_as_no_token(string authorization)
    {
        var answer = await Invoke(HttpPort, "/api/experiments", authorization);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status401Unauthorized, answer.Status);
        Assert.StartsWith("The SegCluster API requires", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_api_request_with_the_token_passes()
    {
        var answer = await Invoke(HttpPort, "/api/experiments", $"Bearer {Token}");

        Assert.True(answer.Passed);
        Assert.Equal(StatusCodes.Status200OK, answer.Status);
        Assert.Equal("", answer.Body);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/health/ready")]
    [InlineData("/metrics")]
    [InlineData("/HEALTH")]  // paths match as ASP.NET Core routes them, ignoring case
    public async Task Probes_and_the_metrics_scrape_pass_without_a_token(string path)
    {
        Assert.True((await Invoke(HttpPort, path, authorization: null)).Passed);
        Assert.True((await Invoke(HttpPort, path, "Bearer wrong")).Passed);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/health/live")]
    [InlineData("/metrics/extra")]
    [InlineData("/api/health")]
    [InlineData("/")]
    public async Task Only_the_exact_open_paths_are_open(string path)
    {
        var answer = await Invoke(HttpPort, path, authorization: null);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status401Unauthorized, answer.Status);
    }

    [Fact]
    public async Task Without_a_configured_token_every_api_request_passes()
    {
        foreach (var token in new[] { null, "" })
        {
            Assert.True((await Invoke(HttpPort, "/api/experiments", authorization: null, token: token)).Passed);
            Assert.True((await Invoke(HttpPort, "/api/experiments", "Bearer anything", token: token)).Passed);
        }
    }

    [Fact]
    public async Task The_collective_service_on_the_http_port_is_404_even_with_the_token()
    {
        var answer = await Invoke(HttpPort, "/segcluster.Collective/Push", $"Bearer {Token}", CollectiveEndpoint);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status404NotFound, answer.Status);
    }

    [Theory]
    [InlineData("/api/experiments")]
    [InlineData("/health")]
    [InlineData("/metrics")]
    public async Task Anything_but_the_collective_service_on_the_collective_port_is_404_even_with_the_token(string path)
    {
        var answer = await Invoke(CollectivePort, path, $"Bearer {Token}", ApiEndpoint);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status404NotFound, answer.Status);
        Assert.False((await Invoke(CollectivePort, path, $"Bearer {Token}", endpoint: null)).Passed);  // nothing routed: 404 too
    }

    [Fact]
    public async Task A_collective_call_without_the_token_is_a_trailers_only_unauthenticated_answer()
    {
        var answer = await Invoke(CollectivePort, "/segcluster.Collective/Push", authorization: null, CollectiveEndpoint);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status200OK, answer.Status);  // gRPC carries the refusal in grpc-status, not the HTTP status
        Assert.Equal("application/grpc", answer.Headers.ContentType.ToString());
        Assert.Equal(((int)StatusCode.Unauthenticated).ToString(System.Globalization.CultureInfo.InvariantCulture), answer.Headers["grpc-status"].ToString());
        Assert.Equal("The collective service requires 'authorization: Bearer <cluster token>'.", answer.Headers["grpc-message"].ToString());
        Assert.Equal("", answer.Body);
    }

    [Fact]
    public async Task A_collective_call_with_a_wrong_token_is_permission_denied()
    {
        var answer = await Invoke(CollectivePort, "/segcluster.Collective/Push", "Bearer wrong", CollectiveEndpoint);

        Assert.False(answer.Passed);
        Assert.Equal(((int)StatusCode.PermissionDenied).ToString(System.Globalization.CultureInfo.InvariantCulture), answer.Headers["grpc-status"].ToString());
        Assert.Equal("The cluster token is wrong.", answer.Headers["grpc-message"].ToString());
    }

    [Fact]
    public async Task A_collective_call_with_the_token_or_on_a_node_without_one_passes()
    {
        Assert.True((await Invoke(CollectivePort, "/segcluster.Collective/Push", $"Bearer {Token}", CollectiveEndpoint)).Passed);
        Assert.True((await Invoke(CollectivePort, "/segcluster.Collective/Push", authorization: null, CollectiveEndpoint, token: null)).Passed);
    }

    [Theory]
    [InlineData(9090)]
    [InlineData(0)]
    public async Task Any_other_port_is_404_even_with_the_token(int port)
    {
        var answer = await Invoke(port, "/api/experiments", $"Bearer {Token}", ApiEndpoint);

        Assert.False(answer.Passed);
        Assert.Equal(StatusCodes.Status404NotFound, answer.Status);
        Assert.False((await Invoke(port, "/health", authorization: null)).Passed);
    }

    private sealed record Answer(bool Passed, int Status, IHeaderDictionary Headers, string Body);

    private static async Task<Answer> Invoke(int port, string path, string? authorization, Endpoint? endpoint = null, string? token = Token)
    {
        var context = new DefaultHttpContext();
        context.Connection.LocalPort = port;
        context.Request.Path = path;
        if (authorization is not null) context.Request.Headers.Authorization = authorization;
        context.SetEndpoint(endpoint ?? (port == HttpPort ? ApiEndpoint : null));
        using var body = new MemoryStream();
        context.Response.Body = body;
        var passed = false;
        var node = new NodeOptions { HttpPort = HttpPort, CollectivePort = CollectivePort, Token = token };
        var middleware = new ClusterTokenMiddleware(_ => { passed = true; return Task.CompletedTask; }, Options.Create(node));

        await middleware.InvokeAsync(context);

        return new Answer(passed, context.Response.StatusCode, context.Response.Headers, System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }

    /// <summary>An endpoint as gRPC routing makes one for a method of <paramref name="service"/>.</summary>
    private static Endpoint GrpcEndpoint(Type service)
    {
        var marshaller = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "segcluster.Collective", "Push", marshaller, marshaller);
        return new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new GrpcMethodMetadata(service, method)), "gRPC - /segcluster.Collective/Push");
    }
}
