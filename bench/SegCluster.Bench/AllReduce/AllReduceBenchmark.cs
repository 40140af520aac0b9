using System.Diagnostics;
using System.Text.Json;
using SegCluster.Bench.Loopback;
using SegCluster.Bench.Results;
using SegCluster.Collectives;
using Spectre.Console;

namespace SegCluster.Bench.AllReduce;

/// <summary>
/// Issue 9 part 1: the ring (per transport: TCP data plane, gRPC) across W processes on 127.0.0.1 and across
/// W ranks inside one process, next to the loopback TCP bound measured in the same run.
/// </summary>
internal sealed class AllReduceBenchmark(
    IReadOnlyList<int> worldSizes, IReadOnlyList<long> sizes, int iterations, bool inProcess, IReadOnlyList<(RingTransport Transport, WireFormat Wire)> variants)
{
    public const string ResultPrefix = "RESULT ";
    private const long LoopbackBytes = 256L << 20;
    private const long BlockBoundBytes = 128L << 20;

    /// <param name="afterBlock">Called with the report so far after each block of rows (the caller writes it, so a
    /// run killed by a timeout keeps its finished rows).</param>
    public async Task<AllReduceReport> RunAsync(Func<AllReduceReport, Task>? afterBlock = null)
    {
        AnsiConsole.MarkupLine($"loopback TCP, one stream, {LoopbackBytes >> 20} MiB × 3 ...");
        var loopback = await LoopbackTcp.MeasureAsync(LoopbackBytes, 3, StartSink);
        AnsiConsole.MarkupLine($"  bound: [bold]{loopback / 1e9:F3} GB/s[/]");
        var http2 = await LoopbackHttp2.MeasureAsync(LoopbackBytes, 3);
        AnsiConsole.MarkupLine($"  HTTP/2 request body (SocketsHttpHandler → Kestrel, no gRPC): [bold]{http2 / 1e9:F3} GB/s[/] = {http2 / loopback:P0} of TCP");

        // Other jobs' load drifts within minutes on a shared machine: each block of rows gets its own bounds,
        // measured right before it, so a row and the bound it is divided by saw about the same load.
        var rows = new List<AllReduceResultRow>();
        foreach (var (transport, wire) in variants)
        foreach (var worldSize in worldSizes)
        foreach (var path in inProcess ? new[] { "processes", "in-process" } : ["processes"])
        {
            var (single, concurrent) = await BoundsAsync(worldSize);
            AnsiConsole.MarkupLine($"{transport} ring, {wire} wire, {path}, W={worldSize} (bounds now: one stream {single / 1e9:F3} GB/s, {worldSize} concurrent {concurrent / 1e9:F3} GB/s per stream) ...");
            var timings = path == "processes" ? await AcrossProcessesAsync(worldSize, transport, wire) : await InOneProcessAsync(worldSize, transport, wire);
            rows.AddRange(timings.Select(t => Report(AllReduceResultRow.From(path, transport, wire, worldSize, t, single, concurrent))));
            if (afterBlock is not null) await afterBlock(new AllReduceReport(Math.Round(loopback / 1e9, 4), Math.Round(http2 / 1e9, 4), iterations, [.. rows]));
        }
        return new AllReduceReport(Math.Round(loopback / 1e9, 4), Math.Round(http2 / 1e9, 4), iterations, rows);
    }

    private static Process StartSink(int port) => SelfProcess.Start("loopback-sink", "--port", port.ToString());

    /// <summary>One stream's rate and the per-stream rate of W concurrent streams (every link of a ring of W busy).</summary>
    private static async Task<(double Single, double Concurrent)> BoundsAsync(int worldSize) =>
        (await LoopbackTcp.MeasureAsync(BlockBoundBytes, 2, StartSink),
         await LoopbackTcp.MeasureAsync(BlockBoundBytes, 2, StartSink, streams: worldSize));

    private static AllReduceResultRow Report(AllReduceResultRow row)
    {
        AnsiConsole.MarkupLine($"  {row.Transport,-4} {row.Wire} {row.Path,-10} W={row.WorldSize} {row.Bytes >> 20,4} MiB: algbw {row.AlgbwGBps:F3} GB/s, busbw {row.BusbwGBps:F3} GB/s = {row.BusbwRatio:P0} of loopback, {row.BusbwRatioConcurrent:P0} of {row.WorldSize} concurrent streams, rel. error {row.RelativeL2Error:E1}");
        return row;
    }

    private async Task<IReadOnlyList<AllReduceTiming>> AcrossProcessesAsync(int worldSize, RingTransport transport, WireFormat wire)
    {
        var ports = Enumerable.Range(0, worldSize).Select(_ => LoopbackTcp.FreePort()).ToArray();
        var processes = Enumerable.Range(0, worldSize).Select(rank => SelfProcess.Start("allreduce-rank",
            "--rank", rank.ToString(), "--ports", string.Join(',', ports), "--sizes", string.Join(',', sizes), "--iterations", iterations.ToString(), "--transport", transport.ToString(), "--wire", wire.ToString())).ToArray();
        try
        {
            var outputs = await Task.WhenAll(processes.Select(async p =>
            {
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                return (p.ExitCode, Stdout: await stdout, Stderr: await stderr);
            }));
            var failed = outputs.Select((o, rank) => (o, rank)).FirstOrDefault(x => x.o.ExitCode != 0);
            if (failed.o.Stdout is not null)
                throw new InvalidOperationException($"rank {failed.rank} exited with {failed.o.ExitCode}:\n{failed.o.Stderr}");
            var line = outputs[0].Stdout.Split('\n').Last(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
            return JsonSerializer.Deserialize<List<AllReduceTiming>>(line[ResultPrefix.Length..], BenchResultFile.OneLine)!;
        }
        finally
        {
            foreach (var p in processes)
            {
                if (!p.HasExited) p.Kill();
                p.Dispose();
            }
        }
    }

    private async Task<IReadOnlyList<AllReduceTiming>> InOneProcessAsync(int worldSize, RingTransport transport, WireFormat wire)
    {
        var hosts = new List<CollectiveHost>();
        try
        {
            for (var r = 0; r < worldSize; r++) hosts.Add(await CollectiveHost.StartAsync(LoopbackTcp.FreePort()));
            var group = new RingGroup($"bench-{Guid.NewGuid():N}", hosts.Select(h => h.Endpoint).ToArray());
            var rings = hosts.Select((h, rank) => new RingAllReduce(group, rank, h.Mailbox, new CollectiveOptions { Transport = transport, Wire = wire })).ToArray();
            try
            {
                var results = await Task.WhenAll(rings.Select(ring => Task.Run(() => AllReduceRank.RunAsync(ring, sizes, iterations))));
                return results[0];
            }
            finally
            {
                foreach (var ring in rings) await ring.DisposeAsync();
            }
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    /// <summary>The child side: serve this rank's endpoint, wait for the peers, run the sizes; rank 0 prints the timings.</summary>
    public static async Task<int> RankAsync(int rank, IReadOnlyList<int> ports, IReadOnlyList<long> sizes, int iterations, RingTransport transport, WireFormat wire)
    {
        await using var host = await CollectiveHost.StartAsync(ports[rank]);
        foreach (var port in ports)
            (await LoopbackTcp.ConnectAsync(port, TimeSpan.FromSeconds(60))).Dispose();
        var group = new RingGroup("bench", ports.Select(p => $"http://127.0.0.1:{p}").ToArray());
        await using var ring = new RingAllReduce(group, rank, host.Mailbox, new CollectiveOptions { Timeout = TimeSpan.FromMinutes(5), Transport = transport, Wire = wire });
        var timings = await AllReduceRank.RunAsync(ring, sizes, iterations);
        if (rank == 0) Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(timings, BenchResultFile.OneLine));
        return 0;
    }
}

/// <summary>The all-reduce benchmark's JSON document.</summary>
/// <param name="Http2UploadGBps">Plain HTTP/2 request-body throughput over loopback in the same run (the transport's own bound).</param>
internal sealed record AllReduceReport(
    double LoopbackGBps, double Http2UploadGBps, int Iterations, IReadOnlyList<AllReduceResultRow> Rows);
