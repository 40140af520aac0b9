using System.Net;
using System.Text;
using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The node's HTTP API on a real embedded node: a spec body is read as spec files are (snake_case, unknown keys
/// refused with the field named; before, ASP.NET's camelCase binding dropped `batch_per_worker` and typos without a
/// word), and an id nobody submitted is a 404, never recorded as a cancelled run.
/// </summary>
public sealed class ClusterApiTests : IAsyncLifetime
{
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-api-");
    private Cli.Embedded.EmbeddedCluster _node = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _node = await EmbeddedTestNode.StartAsync(workers: 1, _checkpoints);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_node.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    [Fact]
    public async Task A_snake_case_spec_is_submitted_as_written_and_cancelled_by_id()
    {
        // 1000 epochs of 8 images at 2 per worker: 4000 steps (the default batch of 8 would give 1000).
        const string spec = """
            { "name": "api", "workers": 1, "model": { "width": 4 },
              "dataset": { "train_count": 8, "validation_count": 2, "height": 32, "width": 32 },
              "training": { "epochs": 1000, "batch_per_worker": 2 } }
            """;
        using var submitted = await _http.PostAsync("/api/experiments/team%2Fapi-run", Json(spec));
        var ticket = await ReadAsync(submitted, HttpStatusCode.OK);
        Assert.Equal("team/api-run", ticket.GetProperty("experimentId").GetString());
        Assert.True(ticket.GetProperty("started").GetBoolean());

        using var shown = await _http.GetAsync("/api/experiments/team%2Fapi-run");
        Assert.Equal(4000, (await ReadAsync(shown, HttpStatusCode.OK)).GetProperty("totalSteps").GetInt32());

        using var cancelled = await _http.PostAsync("/api/experiments/team%2Fapi-run/cancel", content: null);
        Assert.Equal("Cancelled", (await ReadAsync(cancelled, HttpStatusCode.OK)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_spec_with_an_unknown_key_is_refused_naming_it()
    {
        using var json = await _http.PostAsync("/api/experiments/typo", Json("""{ "training": { "batch_size": 2 } }"""));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        Assert.Contains("training.batch_size", await json.Content.ReadAsStringAsync());

        using var yaml = await _http.PostAsync("/api/experiments/typo", new StringContent("training:\n  stepz: 3\n", Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.BadRequest, yaml.StatusCode);
        Assert.Contains("training.stepz", await yaml.Content.ReadAsStringAsync());

        // An empty body (or JSON null) is no spec: it submitted the 800-step defaults as "quickstart".
        foreach (var empty in new[] { Json("null"), new StringContent("", Encoding.UTF8, "application/yaml") })
        {
            using var refused = await _http.PostAsync("/api/experiments/typo", empty);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("is empty", await refused.Content.ReadAsStringAsync());
        }

        // Nothing was submitted under that id.
        using var shown = await _http.GetAsync("/api/experiments/typo");
        Assert.Equal(HttpStatusCode.NotFound, shown.StatusCode);
    }

    [Fact]
    public async Task Cancelling_an_unknown_id_is_a_404_and_records_nothing()
    {
        using var cancelled = await _http.PostAsync("/api/experiments/never-submitted/cancel", content: null);
        Assert.Equal(HttpStatusCode.NotFound, cancelled.StatusCode);
        Assert.Contains("never-submitted", await cancelled.Content.ReadAsStringAsync());

        // The id is still free: a run can be submitted under it afterwards.
        using var submitted = await _http.PostAsync("/api/experiments/never-submitted",
            Json("""{ "workers": 1, "model": { "width": 4 }, "dataset": { "height": 32, "width": 32 }, "training": { "steps": 1000 } }"""));
        Assert.True((await ReadAsync(submitted, HttpStatusCode.OK)).GetProperty("started").GetBoolean());
        using var _ = await _http.PostAsync("/api/experiments/never-submitted/cancel", content: null);
    }

    /// <summary>A 400 KB nesting crashed the node (a stack overflow in YamlDotNet's loader, which no catch stops) and a
    /// few hundred bytes of aliases expanded to gigabytes: both are a 400 naming the line, and the node answers after.</summary>
    [Fact]
    public async Task Yaml_bombs_are_refused_and_the_node_stays_up()
    {
        foreach (var (bomb, expected) in new[] { (YamlBombs.Nested(), "nested deeper than 64 levels"), (YamlBombs.Laughs(), "anchor '&l0'") })
        {
            using var refused = await _http.PostAsync("/api/experiments/bomb", new StringContent(bomb, Encoding.UTF8, "application/yaml"));
            var body = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("line 1, column ", body);
            Assert.Contains(expected, body);
        }
        using var shown = await _http.GetAsync("/api/experiments/bomb");
        Assert.Equal(HttpStatusCode.NotFound, shown.StatusCode);
    }

    /// <summary>A chunked body declares no length, so the Content-Length check let it through and the whole body was read
    /// (up to Kestrel's 30 MB) before the text was measured. Now reading stops at the spec limit: a body that goes on past
    /// it, and never ends, is answered while the client is still sending.</summary>
    [Fact]
    public async Task A_chunked_body_past_the_limit_is_refused_without_waiting_for_its_end()
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _node.HttpPort);
        var stream = client.GetStream();
        var chunk = Node.Api.ClusterApiEndpoints.MaxSpecBytes + 1024;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /api/experiments/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            $"Transfer-Encoding: chunked\r\n\r\n{chunk:x}\r\n"));
        await stream.WriteAsync(Enumerable.Repeat((byte)' ', chunk).ToArray());
        await stream.FlushAsync();  // no chunk terminator and no last chunk: the body never ends

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        while (!response.ToString().Contains("a spec is a few kilobytes", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, limit.Token);
            if (read == 0) break;
            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        Assert.StartsWith("HTTP/1.1 400", response.ToString());
        Assert.Contains($"longer than {Node.Api.ClusterApiEndpoints.MaxSpecBytes} bytes", response.ToString());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _node.DisposeAsync();
        _checkpoints.Delete(recursive: true);
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }
}
