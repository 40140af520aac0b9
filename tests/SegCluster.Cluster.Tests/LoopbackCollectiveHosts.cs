namespace SegCluster.Cluster.Tests;

/// <summary>One <see cref="LoopbackCollectiveHost"/> per ring member (as one per node), started together and disposed together.</summary>
internal sealed class LoopbackCollectiveHosts : IAsyncDisposable
{
    private readonly LoopbackCollectiveHost[] _hosts;

    private LoopbackCollectiveHosts(LoopbackCollectiveHost[] hosts) => _hosts = hosts;

    public static async Task<LoopbackCollectiveHosts> StartAsync(int count) =>
        new(await Task.WhenAll(Enumerable.Range(0, count).Select(_ => LoopbackCollectiveHost.StartAsync())));

    public LoopbackCollectiveHost this[int index] => _hosts[index];

    public IReadOnlyList<LoopbackCollectiveHost> All => _hosts;

    public IReadOnlyList<string> Endpoints => [.. _hosts.Select(h => h.Endpoint)];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
    }
}
