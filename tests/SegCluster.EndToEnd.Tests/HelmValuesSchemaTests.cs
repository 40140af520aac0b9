using System.Text.Json;
using static SegCluster.EndToEnd.Tests.HelmRenderer;
using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// helm/segcluster/values.schema.json (helm validates the merged values against it on install, upgrade and template):
/// every key of values.yaml is in it with its type, and the objects the chart defines refuse unknown keys, so
/// `--set gpusPerNode=8` (a top-level key; the chart reads nodes.gpusPerNode) fails instead of running on CPU.
/// </summary>
public sealed class HelmValuesSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("helm", "segcluster", "values.schema.json"))).RootElement;
    private static readonly Dictionary<object, object> Values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));

    [Fact]
    public void Every_value_is_in_the_schema_with_its_type_and_every_schema_property_is_a_value()
    {
        var problems = new List<string>();
        Check(Values, Schema, "", problems);
        Assert.True(problems.Count == 0, "values.yaml vs values.schema.json:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Unknown_keys_are_refused_at_the_top_level_and_in_every_object_the_chart_defines()
    {
        Assert.False(Schema.GetProperty("additionalProperties").GetBoolean());
        Assert.False(Schema.GetProperty("properties").TryGetProperty("gpusPerNode", out _));
        var nodes = Schema.GetProperty("properties").GetProperty("nodes");
        Assert.Equal("integer", nodes.GetProperty("properties").GetProperty("gpusPerNode").GetProperty("type").GetString());
        var open = new List<string>();
        foreach (var (path, node) in Objects(Schema, ""))
            if (node.TryGetProperty("properties", out _) && !(node.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False))
                open.Add(path);
        Assert.True(open.Count == 0, "objects with properties that accept unknown keys: " + string.Join(", ", open));
    }

    /// <summary>helm validates the values against the schema before it renders: a misplaced key fails `helm template`
    /// and `helm lint` with the schema's message.</summary>
    [RequiresHelmFact]
    public void A_value_the_schema_refuses_fails_the_render_with_the_schemas_message()
    {
        Assert.Contains("Additional property gpusPerNode is not allowed", TemplateError("gpusPerNode=8"));
        var (exit, output) = Lint("gpusPerNode=8");
        Assert.NotEqual(0, exit);
        Assert.Contains("Additional property gpusPerNode is not allowed", output);
        Assert.Contains("nodes.updateStrategy.type", TemplateError("nodes.updateStrategy.type=Recreate"));
        Assert.Contains("nodes.gpusPerNode: Must be greater than or equal to 0", TemplateError("nodes.gpusPerNode=-1"));
        // The pattern cannot order the two ports: the template refuses a reversed range (the NetworkPolicy's endPort < port).
        Assert.Contains("ports.dataPlane \"40015-40000\": the last port is below the first", TemplateError("ports.dataPlane=40015-40000"));
        Template("ports.dataPlane=40000-40015");
    }

    [RequiresHelmFact]
    public void Node_resources_are_computed_per_gpu_unless_given_and_given_ones_need_a_cpu_request()
    {
        // DOTNET_PROCESSOR_COUNT reads requests.cpu: the computed resources always have it, given ones must (schema).
        var auto = Map(Map(Values["nodes"])["autoResources"]);
        Assert.Equal(Expected(Map(auto["cpuPod"]), 1, gpus: null), Resources(Defaults));
        Assert.Equal(Expected(Map(auto["perGpu"]), 8, gpus: "8"), Resources(Template("nodes.gpusPerNode=8")));
        Assert.True(int.Parse((string)Map(auto["perGpu"])["cpu"]) >= int.Parse((string)Map(auto["cpuPod"])["cpu"]));

        // Given: as given, nvidia.com/gpu added to the limits.
        Assert.Equal("requests: cpu=6 memory=20Gi; limits: nvidia.com/gpu=2",
            Resources(Template("nodes.gpusPerNode=2", "nodes.resources.requests.cpu=6", "nodes.resources.requests.memory=20Gi")));
        Assert.Contains("nodes.resources.requests: cpu is required", TemplateError("nodes.resources.requests.memory=20Gi"));
    }

    /// <summary>The node container's resources as "requests: k=v ...; limits: k=v ...", keys in order.</summary>
    private static string Resources(Rendered render) => string.Join("; ", Map(render.NodeContainer["resources"])
        .OrderByDescending(kv => (string)kv.Key).Select(kv => $"{kv.Key}: {string.Join(" ", Map(kv.Value).OrderBy(r => (string)r.Key).Select(r => $"{r.Key}={r.Value}"))}"));

    private static string Expected(Dictionary<object, object> each, int count, string? gpus)
    {
        int Times(string key) => int.Parse((string)each[key]) * count;
        return $"requests: cpu={Times("cpu")} memory={Times("memoryGi")}Gi; limits: memory={Times("memoryLimitGi")}Gi"
            + (gpus is null ? "" : $" nvidia.com/gpu={gpus}");
    }

    private static IEnumerable<(string Path, JsonElement Node)> Objects(JsonElement schema, string path)
    {
        yield return (path, schema);
        if (schema.TryGetProperty("properties", out var properties))
            foreach (var property in properties.EnumerateObject())
                foreach (var found in Objects(property.Value, $"{path}.{property.Name}"))
                    yield return found;
    }

    /// <summary>Each key of <paramref name="values"/> against the schema's properties (an object without properties is
    /// passed to Kubernetes whole, its keys Kubernetes' own), and each property of the schema against the values.</summary>
    private static void Check(Dictionary<object, object> values, JsonElement schema, string path, List<string> problems)
    {
        if (!schema.TryGetProperty("properties", out var properties)) return;
        foreach (var (key, value) in values)
        {
            var at = $"{path}.{key}";
            if (!properties.TryGetProperty((string)key, out var property)) { problems.Add($"{at}: not in the schema"); continue; }
            var types = property.TryGetProperty("type", out var type)
                ? type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)] : new[] { type.GetString()! }
                : property.GetProperty("anyOf").EnumerateArray().Select(a => a.GetProperty("type").GetString()!).Distinct().ToArray();
            if (!types.Any(t => Fits(value, t))) problems.Add($"{at}: {value} is not {string.Join(" or ", types)}");
            if (value is Dictionary<object, object> child) Check(child, property, at, problems);
        }
        foreach (var property in properties.EnumerateObject())
            if (!values.ContainsKey(property.Name) && !(path == "" && property.Name == "global"))
                problems.Add($"{path}.{property.Name}: in the schema, not in values.yaml");
    }

    private static bool Fits(object value, string type) => type switch
    {
        "object" => value is Dictionary<object, object>,
        "array" => value is List<object>,
        "boolean" => value is "true" or "false",
        "integer" => value is string s && long.TryParse(s, out _),
        "number" => value is string s && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out _),
        "string" => value is string,
        _ => false,
    };
}
