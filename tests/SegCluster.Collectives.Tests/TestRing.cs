namespace SegCluster.Collectives.Tests;

/// <summary>All ranks of one ring inside the test process, each bound to its server's mailbox.</summary>
internal sealed class TestRing : IAsyncDisposable
{
    private TestRing(RingGroup group, IReadOnlyList<RingAllReduce> ranks)
    {
        Group = group;
        Ranks = ranks;
    }

    public RingGroup Group { get; }

    public IReadOnlyList<RingAllReduce> Ranks { get; }

    /// <param name="servers">servers[rank] hosts that rank.</param>
    public static TestRing Create(IReadOnlyList<CollectiveServer> servers, CollectiveOptions options)
    {
        var group = new RingGroup($"test-{Guid.NewGuid():N}", servers.Select(s => s.Endpoint).ToArray());
        var ranks = servers.Select((server, rank) => new RingAllReduce(group, rank, server.Mailbox, options)).ToArray();
        return new TestRing(group, ranks);
    }

    /// <summary>Runs SumAsync on every rank concurrently, as separate workers would.</summary>
    public Task<AllReduceStats[]> SumAllAsync(float[][] buffers, CancellationToken cancellationToken = default) =>
        SumAllAsync(buffers, fullPrecision: false, cancellationToken);

    /// <summary>As <see cref="SumAllAsync(float[][], CancellationToken)"/>, with fp32 on the wire when <paramref name="fullPrecision"/>.</summary>
    public Task<AllReduceStats[]> SumAllAsync(float[][] buffers, bool fullPrecision, CancellationToken cancellationToken = default) =>
        Task.WhenAll(Ranks.Select((ring, rank) => Task.Run(() => ring.SumAsync(buffers[rank], fullPrecision, cancellationToken), cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach (var rank in Ranks)
        {
            await rank.DisposeAsync();
        }
    }
}
