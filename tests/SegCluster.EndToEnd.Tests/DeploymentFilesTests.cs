using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Deployment files are code: docker-compose.yml, the Dockerfile, the helm chart, Prometheus and Grafana
/// files parse and agree with each other and with the node's configured ports. (No Docker engine here; the chart is
/// rendered by helm in the Helm*Tests, see HelmRenderer, and HelmTemplate parses a template's YAML skeleton.)
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string ChartDir = RepoPaths.Of("helm", "segcluster");

    /// <summary>Node:HttpPort, CollectivePort, SiloPort, GatewayPort of src/SegCluster.Node/appsettings.json.</summary>
    private static readonly Dictionary<string, int> NodePorts = LoadNodePorts();

    [Fact]
    public void Chart_yaml_and_values_yaml_parse()
    {
        var chart = LoadYaml(Path.Combine(ChartDir, "Chart.yaml"));
        Assert.Equal("v2", chart["apiVersion"]);
        Assert.Equal("segcluster", chart["name"]);
        Assert.False(string.IsNullOrEmpty(chart["version"] as string));
        Assert.NotEmpty(LoadYaml(Path.Combine(ChartDir, "values.yaml")));
    }

    [Fact]
    public void Every_value_a_template_references_exists_and_every_value_is_used()
    {
        var values = LoadYaml(Path.Combine(ChartDir, "values.yaml"));
        var referenced = Directory.GetFiles(Path.Combine(ChartDir, "templates"))
            .SelectMany(f => ValuesReference().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Path: m.Groups[1].Value)))
            .ToList();
        Assert.NotEmpty(referenced);
        var missing = referenced.Where(r => !Exists(values, r.Path.Split('.'))).Select(r => $"{r.File}: .Values.{r.Path}").Distinct().ToList();
        Assert.True(missing.Count == 0, "referenced but not in values.yaml:\n" + string.Join("\n", missing));

        // A value nobody reads is a documented lie; a subtree passed whole (toYaml .Values.x) counts as used.
        var paths = referenced.Select(r => r.Path).ToHashSet();
        var unused = LeafPaths(values, "").Where(leaf => !paths.Any(p => leaf == p || leaf.StartsWith(p + "."))).ToList();
        Assert.True(unused.Count == 0, "values.yaml entries no template uses:\n" + string.Join("\n", unused));
    }

    [Fact]
    public void Every_top_level_and_second_level_value_is_documented_by_a_comment()
    {
        var lines = File.ReadAllLines(Path.Combine(ChartDir, "values.yaml"));
        var undocumented = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var m = ValueKeyLine().Match(lines[i]);
            if (!m.Success || m.Groups[1].Value.Length > 2) continue;
            // Keys of a subtree passed whole to Kubernetes (securityContext fields) are Kubernetes' own.
            var parent = lines.Take(i).LastOrDefault(l => ValueKeyLine().Match(l) is { Success: true } p && p.Groups[1].Value.Length == 0);
            if (m.Groups[1].Value.Length == 2 && parent is not null && parent.Contains("ecurityContext")) continue;
            if (i == 0 || !lines[i - 1].TrimStart().StartsWith('#')) undocumented.Add(lines[i].Trim());
        }
        Assert.True(undocumented.Count == 0, "values without a comment line above:\n" + string.Join("\n", undocumented));
    }

    [Fact]
    public void Chart_ports_and_security_contexts_match_the_node()
    {
        var values = LoadYaml(Path.Combine(ChartDir, "values.yaml"));
        var ports = (Dictionary<object, object>)values["ports"];
        Assert.Equal(NodePorts["HttpPort"], int.Parse((string)ports["http"]));
        Assert.Equal(NodePorts["CollectivePort"], int.Parse((string)ports["collective"]));
        Assert.Equal(NodePorts["SiloPort"], int.Parse((string)ports["silo"]));
        Assert.Equal(NodePorts["GatewayPort"], int.Parse((string)ports["gateway"]));
        var security = (Dictionary<object, object>)values["securityContext"];
        Assert.Equal("false", security["allowPrivilegeEscalation"]);
        Assert.Contains("ALL", ((List<object>)((Dictionary<object, object>)security["capabilities"])["drop"]).Cast<string>());
        Assert.Equal("true", ((Dictionary<object, object>)values["podSecurityContext"])["runAsNonRoot"]);
    }

    [Fact]
    public void Compose_services_use_the_node_ports_and_existing_files()
    {
        var compose = LoadYaml(RepoPaths.Of("docker-compose.yml"));
        var services = (Dictionary<object, object>)compose["services"];
        Assert.Equal(["grafana", "node1", "node2", "prometheus", "redis"], services.Keys.Cast<string>().Order());

        foreach (var name in new[] { "node1", "node2" })
        {
            var node = (Dictionary<object, object>)services[name];
            var env = ((Dictionary<object, object>)node["environment"]).ToDictionary(kv => (string)kv.Key, kv => (string)kv.Value);
            foreach (var (key, port) in NodePorts)
                Assert.Equal(port.ToString(), env[$"SEGCLUSTER_Node__{key}"]);
            Assert.Equal(name, env["SEGCLUSTER_Node__AdvertiseHost"]);
            // The nodes listen beyond loopback, so each refuses to start without a token: compose insists on the variable
            // (no default, which anyone reading this file would know).
            Assert.Matches(@"^\$\{SEGCLUSTER_TOKEN:\?[^}$]+\}$", env["SEGCLUSTER_Node__Token"]);
            foreach (var mapping in ((List<object>)node["ports"]).Cast<string>())
                Assert.Contains(int.Parse(mapping.Split(':')[^1]), NodePorts.Values);
            var health = string.Join(" ", ((List<object>)((Dictionary<object, object>)node["healthcheck"])["test"]).Cast<string>());
            Assert.Contains($"http://localhost:{NodePorts["HttpPort"]}/health", health);
            var build = (Dictionary<object, object>)node["build"];
            Assert.True(File.Exists(RepoPaths.Of((string)build["dockerfile"])), $"{name}: no {build["dockerfile"]}");
        }

        // The host's CLI finds the gateways through Redis, published on loopback only (it has no password).
        var redis = (Dictionary<object, object>)services["redis"];
        Assert.Equal(["127.0.0.1:6379:6379"], ((List<object>)redis["ports"]).Cast<string>());

        // Prometheus (no authentication) and Grafana too; Grafana's admin password comes from the environment, required
        // (a default would be the admin/admin everyone knows).
        Assert.Equal(["127.0.0.1:9090:9090"], ((List<object>)((Dictionary<object, object>)services["prometheus"])["ports"]).Cast<string>());
        var grafana = (Dictionary<object, object>)services["grafana"];
        Assert.Equal(["127.0.0.1:3000:3000"], ((List<object>)grafana["ports"]).Cast<string>());
        var grafanaEnv = (Dictionary<object, object>)grafana["environment"];
        Assert.Matches(@"^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}$]+\}$", (string)grafanaEnv["GF_SECURITY_ADMIN_PASSWORD"]);
        Assert.Contains("export GRAFANA_ADMIN_PASSWORD=", File.ReadAllText(RepoPaths.Of("docs", "deploy.md")));

        // Bind mounts name files of the repository; other sources are named volumes declared at the top level.
        var named = ((Dictionary<object, object>)compose["volumes"]).Keys.Cast<string>().ToList();
        foreach (var service in new[] { "prometheus", "grafana" })
            foreach (var volume in ((List<object>)((Dictionary<object, object>)services[service])["volumes"]).Cast<string>())
            {
                var source = volume.Split(':')[0];
                Assert.True(source.StartsWith("./", StringComparison.Ordinal)
                    ? File.Exists(RepoPaths.Of(source)) || Directory.Exists(RepoPaths.Of(source))
                    : named.Contains(source), $"{service} mounts missing {source}");
            }

        // Prometheus scrapes exactly the compose nodes on their HTTP port.
        var prometheus = LoadYaml(RepoPaths.Of("deploy", "prometheus", "prometheus.yml"));
        var targets = ((List<object>)prometheus["scrape_configs"]).Cast<Dictionary<object, object>>()
            .SelectMany(j => ((List<object>)j["static_configs"]).Cast<Dictionary<object, object>>())
            .SelectMany(s => ((List<object>)s["targets"]).Cast<string>()).Order();
        Assert.Equal([$"node1:{NodePorts["HttpPort"]}", $"node2:{NodePorts["HttpPort"]}"], targets);
    }

    /// <summary>Prometheus' TSDB and Grafana's state live in named volumes, so `docker compose down` / `up` keeps the
    /// metrics history and dashboards' edits (the containers' own layers are deleted by down).</summary>
    [Fact]
    public void Compose_keeps_metrics_history_and_grafana_state_in_named_volumes()
    {
        var compose = LoadYaml(RepoPaths.Of("docker-compose.yml"));
        var services = (Dictionary<object, object>)compose["services"];
        var named = ((Dictionary<object, object>)compose["volumes"]).Keys.Cast<string>().ToList();
        var prometheus = (Dictionary<object, object>)services["prometheus"];
        Assert.Contains("--storage.tsdb.path=/prometheus", ((List<object>)prometheus["command"]).Cast<string>());
        foreach (var (service, path) in new[] { (prometheus, "/prometheus"), ((Dictionary<object, object>)services["grafana"], "/var/lib/grafana") })
        {
            var source = Assert.Single(((List<object>)service["volumes"]).Cast<string>(), v => v.Split(':')[1] == path).Split(':')[0];
            Assert.Contains(source, named);
        }
    }

    /// <summary>TorchSharp ships no linux-arm64 libtorch: on an arm64 host the node could not load it, so compose asks for
    /// amd64 (emulated there) and the chart's pods go to amd64 machines. Every compose node runs the dashboard's per-silo
    /// grain service, which node1's dashboard calls on each silo.</summary>
    [Fact]
    public void Nodes_run_on_amd64_and_every_compose_node_serves_the_dashboards_silo_calls()
    {
        var compose = LoadYaml(RepoPaths.Of("docker-compose.yml"));
        var services = (Dictionary<object, object>)compose["services"];
        foreach (var name in new[] { "node1", "node2" })
        {
            var node = (Dictionary<object, object>)services[name];
            Assert.Equal("linux/amd64", node["platform"]);
            Assert.Equal("true", ((Dictionary<object, object>)node["environment"])["SEGCLUSTER_Node__Dashboard__Enabled"]);
        }
        var values = LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));
        var selector = (Dictionary<object, object>)((Dictionary<object, object>)values["nodes"])["nodeSelector"];
        Assert.Equal("amd64", selector["kubernetes.io/arch"]);
    }

    [Fact]
    public void Dockerfile_exposes_the_node_ports_runs_the_node_and_is_not_root()
    {
        var dockerfile = File.ReadAllLines(RepoPaths.Of("deploy", "docker", "Dockerfile"));
        var exposed = dockerfile.Where(l => l.StartsWith("EXPOSE ")).SelectMany(l => l[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse);
        Assert.Equal(NodePorts.Values.Order(), exposed.Order());
        Assert.Contains(dockerfile, l => l == "ENTRYPOINT [\"dotnet\", \"SegCluster.Node.dll\"]");
        var user = Assert.Single(dockerfile, l => l.StartsWith("USER ")).Split(' ')[1];
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
        Assert.Equal(2, dockerfile.Count(l => l.StartsWith("FROM ")));
        Assert.Contains(dockerfile, l => l.StartsWith("HEALTHCHECK") || l.Contains($"localhost:{NodePorts["HttpPort"]}/health"));
    }

    [Fact]
    public void Dockerfile_preloads_jemalloc_that_its_runtime_stage_installs()
    {
        // The node's malloc (bench/README.md, training-overhead: glibc's arenas fragment over a long run, jemalloc stays flat).
        var dockerfile = File.ReadAllText(RepoPaths.Of("deploy", "docker", "Dockerfile"));
        var runtimeStage = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        Assert.Matches(@"apt-get install[^\n]*\blibjemalloc2\b", runtimeStage);
        Assert.Matches(@"\bENV LD_PRELOAD=libjemalloc\.so\.2\b", runtimeStage);
    }

    /// <summary>NVML (segcluster_device_memory_bytes' device label) numbers GPUs in PCI order, CUDA fastest first unless
    /// CUDA_DEVICE_ORDER=PCI_BUS_ID: every way the node runs on a GPU sets it, so cuda:N is the GPU its metrics name.</summary>
    [Fact]
    public void Every_gpu_launch_orders_cuda_devices_by_pci_bus_like_nvml()
    {
        var dockerfile = File.ReadAllText(RepoPaths.Of("deploy", "docker", "Dockerfile"));
        Assert.Matches(@"\nENV (?:[^\n]*\\\n)*\s*CUDA_DEVICE_ORDER=PCI_BUS_ID\b", dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..]);
        Assert.Contains("export CUDA_DEVICE_ORDER=\"${CUDA_DEVICE_ORDER:-PCI_BUS_ID}\"", File.ReadAllText(RepoPaths.Of("deploy", "gpu", "run.sh")));

        // The chart's pods, in the branch that requests GPUs.
        Assert.Equal("PCI_BUS_ID", HelmTemplate.Variable("CUDA_DEVICE_ORDER")["value"]);
        var statefulset = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml"));
        Assert.Matches(@"\{\{-\s*if gt \(int \.Values\.nodes\.gpusPerNode\) 0\s*\}\}\n(?:\s*#[^\n]*\n)*\s*- name: CUDA_DEVICE_ORDER\n", statefulset);
    }

    [Fact]
    public void Dashboard_queries_the_datasource_variable_which_defaults_to_the_provisioned_one_and_every_panel_has_a_query()
    {
        var datasources = LoadYaml(RepoPaths.Of("deploy", "grafana", "provisioning", "datasources", "prometheus.yml"));
        var provisioned = (Dictionary<object, object>)Assert.Single((List<object>)datasources["datasources"]);
        Assert.Equal("prometheus", provisioned["type"]);
        // Grafana's default datasource, so the variable resolves to it in compose even if its current value is lost.
        Assert.Equal("true", provisioned["isDefault"]);
        var dashboard = GrafanaDashboard.Load();

        // A `datasource` variable (Prometheus datasources of the Grafana it is imported into), first, defaulting to
        // the provisioned uid; a dashboard pinned to that uid says "datasource not found" in any other Grafana.
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        Assert.Equal(["datasource", "experiment", "node"], variables.Select(v => v.GetProperty("name").GetString()));
        var datasource = variables[0];
        Assert.Equal("datasource", datasource.GetProperty("type").GetString());
        Assert.Equal("prometheus", (datasource.TryGetProperty("pluginId", out var plugin) ? plugin : datasource.GetProperty("query")).GetString());
        Assert.Equal((string)provisioned["uid"], datasource.GetProperty("current").GetProperty("value").GetString());
        Assert.False(datasource.TryGetProperty("multi", out var multi) && multi.GetBoolean());
        Assert.False(datasource.TryGetProperty("includeAll", out var all) && all.GetBoolean());

        // Every datasource reference (panels, their queries, the query variables) is the variable.
        var references = DatasourceReferences(dashboard).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(
            r.Reference.ValueKind == JsonValueKind.Object && r.Reference.GetProperty("uid").GetString() == "${datasource}"
                && r.Reference.GetProperty("type").GetString() == "prometheus",
            $"{r.Where}: datasource {r.Reference.GetRawText()}, not {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}}"));
        Assert.All(variables.Skip(1), v => Assert.Equal("${datasource}", v.GetProperty("datasource").GetProperty("uid").GetString()));

        var panels = GrafanaDashboard.Panels(dashboard).ToList();
        Assert.NotEmpty(panels);
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel '{title}' has no query");
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"panel '{title}' has an empty query"));
        }

        // The dashboards provider reads the folder compose mounts the dashboard into.
        var providers = LoadYaml(RepoPaths.Of("deploy", "grafana", "provisioning", "dashboards", "segcluster.yml"));
        var path = (string)((Dictionary<object, object>)((Dictionary<object, object>)Assert.Single((List<object>)providers["providers"]))["options"])["path"];
        Assert.Contains($"./deploy/grafana/dashboards:{path}:ro", File.ReadAllText(RepoPaths.Of("docker-compose.yml")));
    }

    /// <summary>Panels marked "Empty until the first" return no data in the live test (PrometheusDashboardTests), so the
    /// names of every query are checked here against the code's and docs/metrics.md's.</summary>
    [Fact]
    public void Every_dashboard_query_names_an_exported_documented_metric_and_the_health_row_shows_the_warning_signs()
    {
        var dashboard = GrafanaDashboard.Load();
        ExportedMetrics.AssertExportedAndDocumented("segcluster.json", string.Join("\n", GrafanaDashboard.Queries(dashboard).Select(q => q.Expr)));
        var health = dashboard.GetProperty("panels").EnumerateArray().SkipWhile(p => p.GetProperty("title").GetString() != "Health").Skip(1)
            .TakeWhile(p => p.GetProperty("type").GetString() != "row").ToList();
        var queried = string.Join("\n", health.SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()));
        foreach (var metric in new[] { "segcluster_train_loss_scale", "segcluster_train_skipped_steps_total", "segcluster_data_invalid_samples_total", "segcluster_telemetry_series" })
            Assert.Contains(metric, queried);

        // The series panel marks where the alert fires: 0.9 × the default Telemetry:SeriesLimit.
        var series = health.Single(p => p.GetProperty("targets")[0].GetProperty("expr").GetString()!.Contains("segcluster_telemetry_series"));
        var steps = series.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("thresholds").GetProperty("steps").EnumerateArray();
        Assert.Contains(steps, s => s.GetProperty("value") is { ValueKind: JsonValueKind.Number } v && v.GetDouble() == 0.9 * SegCluster.Cluster.Telemetry.TelemetryOptions.DefaultSeriesLimit);
    }

    /// <summary>Every "datasource" property of the dashboard but the datasource variable's own (it has none).</summary>
    private static IEnumerable<(string Where, JsonElement Reference)> DatasourceReferences(JsonElement element, string where = "")
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "datasource") yield return (where, property.Value);
                else foreach (var found in DatasourceReferences(property.Value, $"{where}.{property.Name}")) yield return found;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
                foreach (var found in DatasourceReferences(item, $"{where}[{i++}]")) yield return found;
        }
    }

    [Fact]
    public void Compose_nodes_split_the_hosts_cores_for_torch_threads()
    {
        // Node:TorchThreads 0 (the default) sizes torch's intra-op pool to every core the container sees, which on
        // one Docker host is the whole host for each node: two nodes would run 2x the cores in threads.
        var services = (Dictionary<object, object>)LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"];
        var nodes = services.Keys.Cast<string>().Where(name => name.StartsWith("node")).ToList();
        Assert.Equal(2, nodes.Count);
        var settings = nodes.Select(name =>
        {
            var env = (Dictionary<object, object>)((Dictionary<object, object>)services[name])["environment"];
            Assert.True(env.TryGetValue("SEGCLUSTER_Node__TorchThreads", out var value), $"{name} does not set SEGCLUSTER_Node__TorchThreads");
            return (string)value;
        }).ToList();
        Assert.Single(settings.Distinct());
        // A literal count or ${VARIABLE:-default}, as compose interpolates it when the variable is unset.
        var m = Regex.Match(settings[0], @"^(?:\$\{[A-Z_]+:-(\d+)\}|(\d+))$");
        Assert.True(m.Success, $"SEGCLUSTER_Node__TorchThreads: {settings[0]}");
        var threads = int.Parse(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        Assert.InRange(threads, 1, 2);  // 0 would be automatic (all cores); 2 per node fits a 4-core host
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]  // what the attribute skips it on
    public void Gpu_publish_packs_the_newest_runtime_of_the_target_major_and_fails_without_one()
    {
        var props = File.ReadAllText(RepoPaths.Of("Directory.Build.props"));
        var major = int.Parse(Regex.Match(props, @"<TargetFramework>net(\d+)\.\d+</TargetFramework>").Groups[1].Value);
        var publish = File.ReadAllText(RepoPaths.Of("deploy", "gpu", "publish.sh"));
        Assert.Contains("version=\"$(deploy/gpu/runtime-version.sh Microsoft.NETCore.App)\"", publish);
        Assert.Contains("aspnet=\"$(deploy/gpu/runtime-version.sh Microsoft.AspNetCore.App)\"", publish);
        Assert.DoesNotContain("--list-runtimes", publish);

        // A machine with an older major, the target major (two patches, a preview) and a newer major's preview.
        string[] installed =
        [
            $"Microsoft.AspNetCore.App {major - 1}.0.9 [/x/shared/Microsoft.AspNetCore.App]",
            $"Microsoft.AspNetCore.App {major}.0.2 [/x/shared/Microsoft.AspNetCore.App]",
            $"Microsoft.AspNetCore.App {major + 1}.0.0 [/x/shared/Microsoft.AspNetCore.App]",
            $"Microsoft.NETCore.App {major - 1}.0.11 [/x/shared/Microsoft.NETCore.App]",
            $"Microsoft.NETCore.App {major}.0.3 [/x/shared/Microsoft.NETCore.App]",
            $"Microsoft.NETCore.App {major}.0.10 [/x/shared/Microsoft.NETCore.App]",
            $"Microsoft.NETCore.App {major}.1.0-preview.1.2 [/x/shared/Microsoft.NETCore.App]",
            $"Microsoft.NETCore.App {major + 1}.0.0-preview.7.1 [/x/shared/Microsoft.NETCore.App]",
            $"Microsoft.NETCore.App {major + 1}.0.1 [/x/shared/Microsoft.NETCore.App]",
        ];
        Assert.Equal((0, $"{major}.0.10"), RuntimeVersion("Microsoft.NETCore.App", installed));
        Assert.Equal((0, $"{major}.0.2"), RuntimeVersion("Microsoft.AspNetCore.App", installed));

        var (exit, error) = RuntimeVersion("Microsoft.AspNetCore.App", [.. installed.Where(l => !l.StartsWith($"Microsoft.AspNetCore.App {major}."))], stderr: true);
        Assert.NotEqual(0, exit);
        Assert.Contains($"no Microsoft.AspNetCore.App {major}.* runtime is installed", error);
    }

    /// <summary>deploy/gpu/runtime-version.sh with a `dotnet` on PATH that lists <paramref name="runtimes"/>.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static (int Exit, string Output) RuntimeVersion(string framework, string[] runtimes, bool stderr = false)
    {
        var bin = Directory.CreateTempSubdirectory("segcluster-fake-dotnet-");
        try
        {
            var fake = Path.Combine(bin.FullName, "dotnet");
            File.WriteAllText(fake, "#!/bin/sh\n[ \"$1\" = --list-runtimes ] || exit 64\ncat <<'EOF'\n" + string.Join("\n", runtimes) + "\nEOF\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var start = new System.Diagnostics.ProcessStartInfo("bash", [RepoPaths.Of("deploy", "gpu", "runtime-version.sh"), framework])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["PATH"] = bin.FullName + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "runtime-version.sh did not finish");
            return (process.ExitCode, (stderr ? error.Result : output.Result).Trim());
        }
        finally
        {
            bin.Delete(recursive: true);
        }
    }

    internal static Dictionary<object, object> LoadYaml(string path) => ParseYaml(File.ReadAllText(path));

    internal static Dictionary<object, object> ParseYaml(string yaml)
    {
        using var reader = new StringReader(yaml);
        // MergingParser resolves `<<: *anchor` merge keys (docker-compose.yml).
        return new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
    }

    private static bool Exists(Dictionary<object, object> values, IEnumerable<string> path)
    {
        object? node = values;
        foreach (var key in path)
        {
            if (node is not Dictionary<object, object> map || !map.TryGetValue(key, out node)) return false;
        }
        return true;
    }

    private static IEnumerable<string> LeafPaths(Dictionary<object, object> map, string prefix) =>
        map.SelectMany(kv =>
        {
            var path = prefix + (string)kv.Key;
            return kv.Value is Dictionary<object, object> { Count: > 0 } child ? LeafPaths(child, path + ".") : [path];
        });

    private static Dictionary<string, int> LoadNodePorts()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("src", "SegCluster.Node", "appsettings.json")));
        var node = settings.RootElement.GetProperty("Node");
        return new[] { "HttpPort", "CollectivePort", "SiloPort", "GatewayPort" }.ToDictionary(k => k, k => node.GetProperty(k).GetInt32());
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"^( *)([A-Za-z][A-Za-z0-9_]*):")]
    private static partial Regex ValueKeyLine();
}
