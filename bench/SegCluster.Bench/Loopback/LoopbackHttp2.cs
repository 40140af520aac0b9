using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace SegCluster.Bench.Loopback;

/// <summary>
/// The bound of the transport the ring rides on: plain HTTP/2 request bodies (SocketsHttpHandler → Kestrel,
/// the windows AddSegClusterCollectives sets) over 127.0.0.1, no gRPC and no ring. Next to
/// <see cref="LoopbackTcp"/> it separates what HTTP/2 in .NET costs from what the ring adds.
/// </summary>
internal static class LoopbackHttp2
{
    private const int WriteBytes = 1 << 20;

    /// <summary>Best of <paramref name="repeats"/> POSTs of <paramref name="bytes"/> to a draining endpoint, in bytes per second.</summary>
    public static async Task<double> MeasureAsync(long bytes, int repeats)
    {
        var port = LoopbackTcp.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 8 << 20;
        });
        await using var app = builder.Build();
        app.MapPost("/drain", async (HttpContext context) =>
        {
            var buffer = new byte[WriteBytes];
            while (await context.Request.Body.ReadAsync(buffer) > 0) { }
        });
        await app.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var payload = new byte[WriteBytes];
        var best = 0.0;
        for (var r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            using var content = new StreamContent(new RepeatingStream(payload, bytes));
            (await http.PostAsync($"http://127.0.0.1:{port}/drain", content)).EnsureSuccessStatusCode();
            best = Math.Max(best, bytes / clock.Elapsed.TotalSeconds);
        }
        await app.StopAsync();
        return best;
    }

    /// <summary>A read-only stream of <c>length</c> bytes made of one block repeated, so a large body costs no memory.</summary>
    private sealed class RepeatingStream(byte[] block, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(Math.Min(buffer.Length, block.Length), length - _position);
            block.AsSpan(0, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
