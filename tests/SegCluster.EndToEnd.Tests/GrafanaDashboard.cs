using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The shipped Grafana dashboard (deploy/grafana/dashboards/segcluster.json), read as the tests need it.</summary>
internal static class GrafanaDashboard
{
    public static string File => RepoPaths.Of("deploy", "grafana", "dashboards", "segcluster.json");

    public static JsonElement Load() => JsonDocument.Parse(System.IO.File.ReadAllText(File)).RootElement.Clone();

    /// <summary>Every panel except rows (rows only group).</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row");

    public static IEnumerable<(string Panel, string Expr)> Queries(JsonElement dashboard) =>
        from p in Panels(dashboard)
        from t in p.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : Enumerable.Empty<JsonElement>()
        where t.TryGetProperty("expr", out _)
        select (p.GetProperty("title").GetString()!, t.GetProperty("expr").GetString()!);

    /// <summary>The query as Grafana sends it with "All" selected for every query variable (allValue ".*").</summary>
    public static string WithAllSelected(string expr, JsonElement dashboard)
    {
        foreach (var v in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (v.GetProperty("type").GetString() == "datasource") continue;  // picks the datasource, not a label value
            var name = v.GetProperty("name").GetString()!;
            var all = v.GetProperty("allValue").GetString()!;
            expr = expr.Replace("${" + name + "}", all).Replace("$" + name, all);
        }
        return expr;
    }
}
