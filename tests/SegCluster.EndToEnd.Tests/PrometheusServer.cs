using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The real Prometheus server (apt package; on PATH) as a child process on 127.0.0.1, a free
/// port and a temporary storage folder, scraping the given targets every 2 s. A scrape may take the whole 2 s
/// (Prometheus allows no more than the interval): a node training on CI's 2 loaded cores missed a 1 s timeout.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    /// <summary>prometheus and promtool on PATH, or null.</summary>
    public static string? Binary { get; } = Executables.OnPath("prometheus");
    public static string? Promtool { get; } = Executables.OnPath("promtool");
    public const string MissingReason = "prometheus or promtool is not on PATH (apt-get install prometheus; ./build.sh test installs it)";

    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly HttpClient _http;
    private readonly Task<string> _stderr;

    private PrometheusServer(Process process, DirectoryInfo dir, int port)
    {
        _process = process;
        _dir = dir;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        _ = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Both: the tests marked <see cref="RequiresPrometheusFactAttribute"/> run one or the other.</summary>
    public static bool Installed => Binary is not null && Promtool is not null;

    /// <summary>Starts Prometheus and returns once /-/ready answers (at most <paramref name="readyWithin"/>). On failure
    /// the process and its folder are gone.</summary>
    public static async Task<PrometheusServer> StartAsync(IEnumerable<string> targets, TimeSpan readyWithin)
    {
        var dir = Directory.CreateTempSubdirectory("segcluster-prometheus-");
        PrometheusServer? server = null;
        try
        {
            var config = Path.Combine(dir.FullName, "prometheus.yml");
            await File.WriteAllTextAsync(config, $$"""
                global:
                  scrape_interval: 2s
                  scrape_timeout: 2s
                scrape_configs:
                  - job_name: segcluster
                    static_configs:
                      - targets: [{{string.Join(", ", targets.Select(t => $"\"{t}\""))}}]
                """);
            var port = LoopbackPorts.Next();
            var info = new ProcessStartInfo(Binary ?? throw new InvalidOperationException(MissingReason)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir.FullName, "data")}",
                         $"--web.listen-address=127.0.0.1:{port}" })
                info.ArgumentList.Add(a);
            server = new PrometheusServer(Process.Start(info) ?? throw new InvalidOperationException("could not start prometheus"), dir, port);
            var deadline = DateTime.UtcNow + readyWithin;
            while (DateTime.UtcNow < deadline && !server._process.HasExited)
            {
                if (await server._http.TryGetStringAsync("/-/ready") is not null) return server;  // null: not listening yet, or busy
                await Task.Delay(100);
            }
            var log = server._process.HasExited ? await server._stderr : "(still running)";
            throw new TimeoutException($"prometheus was not ready within {readyWithin}: {log}");
        }
        catch
        {
            if (server is not null) await server.DisposeAsync();
            else dir.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Instant query (/api/v1/query); returns the number of series or vector elements in the result.</summary>
    public async Task<int> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"query failed: {promql}\n{body}");
        var result = body.GetProperty("data").GetProperty("result");
        return result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 1;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.KillAndWaitAsync();
        _process.Dispose();
        _http.Dispose();
        _dir.Delete(recursive: true);
    }
}

/// <summary>A [Fact] that is skipped, with the reason, where the Prometheus package is not installed.</summary>
public sealed class RequiresPrometheusFactAttribute : FactAttribute
{
    public RequiresPrometheusFactAttribute()
    {
        if (!PrometheusServer.Installed) Skip = PrometheusServer.MissingReason;
    }
}
