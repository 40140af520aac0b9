namespace SegCluster.Collectives.Tests;

/// <summary>Five simulated processes shared by the tests of one class (each test uses its own group id).</summary>
public sealed class ServerPoolFixture : IAsyncLifetime
{
    public const int ServerCount = 5;

    private readonly List<CollectiveServer> _servers = new();

    internal IReadOnlyList<CollectiveServer> Servers => _servers;

    public async Task InitializeAsync()
    {
        var started = await Task.WhenAll(Enumerable.Range(0, ServerCount).Select(_ => CollectiveServer.StartAsync()));
        _servers.AddRange(started);
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>
    /// Builds one RingAllReduce per rank. <paramref name="ranksPerServer"/> = 1 puts every rank in its
    /// own process; 2 puts ranks (0,1), (2,3), … in the same process and endpoint.
    /// </summary>
    internal TestRing CreateRing(int worldSize, int ranksPerServer, CollectiveOptions options)
    {
        var servers = Enumerable.Range(0, worldSize).Select(rank => _servers[rank / ranksPerServer]).ToArray();
        return TestRing.Create(servers, options);
    }
}
