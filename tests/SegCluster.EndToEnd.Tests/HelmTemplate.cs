using System.Text.RegularExpressions;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A helm template's YAML skeleton, for the few assertions about a template's source that rendering cannot make
/// (<see cref="HelmRenderer"/> renders the chart with a real helm): lines that are only template actions
/// (if / range / with / end / include | nindent / toYaml) are dropped, so both branches of an if stay; an inline
/// action becomes the opaque scalar ⟦action⟧ (its double quotes turned single, so it fits in a quoted string).
/// </summary>
internal static partial class HelmTemplate
{
    public static Dictionary<object, object> Load(string path) => DeploymentFilesTests.ParseYaml(Skeleton(path));

    /// <summary>Each object of a template that renders several (documents apart by `---`), as <see cref="Load"/> reads one.</summary>
    public static List<Dictionary<object, object>> LoadAll(string path) =>
        [.. DocumentSeparator().Split(Skeleton(path)).Select(DeploymentFilesTests.ParseYaml).Where(document => document is not null)];

    private static string Skeleton(string path) => string.Join('\n', File.ReadAllLines(path)
        .Where(line => !ActionOnly().IsMatch(line))
        .Select(line => InlineAction().Replace(line, m => $"⟦{m.Groups[1].Value.Replace('"', '\'')}⟧")));

    /// <summary>The placeholder an inline action becomes, e.g. Action(".Values.x | quote") = "⟦.Values.x | quote⟧".</summary>
    public static string Action(string action) => $"⟦{action.Replace('"', '\'')}⟧";

    private static readonly string Templates = RepoPaths.Of("helm", "segcluster", "templates");
    private static readonly Lazy<Dictionary<object, object>> SkeletonPod =
        new(() => Map(Map(Load(Path.Combine(Templates, "statefulset.yaml"))["spec"])["template"]));

    /// <summary>The node pod template of statefulset.yaml's skeleton (both branches of each if).</summary>
    internal static Dictionary<object, object> NodePod => SkeletonPod.Value;

    internal static Dictionary<object, object> NodeContainer => Map(Assert.Single(List(Map(NodePod["spec"])["containers"])));

    /// <summary>The node container's variable of that name in the skeleton.</summary>
    internal static Dictionary<object, object> Variable(string name) =>
        List(NodeContainer["env"]).Select(Map).Single(e => (string)e["name"] == name);

    /// <summary>Asserts that <paramref name="text"/> holds <paramref name="parts"/> in this order (an if's branches).</summary>
    internal static void InOrder(string file, string text, params string[] parts)
    {
        var at = 0;
        foreach (var part in parts)
        {
            at = text.IndexOf(part, at, StringComparison.Ordinal);
            Assert.True(at >= 0, $"{file}: no {part} after the parts before it");
        }
    }

    /// <summary>The body of {{ define "name" }} ... {{ end }} in _helpers.tpl (defines hold no nested define).</summary>
    internal static string Define(string name)
    {
        var helpers = File.ReadAllText(Path.Combine(Templates, "_helpers.tpl"));
        var start = Regex.Match(helpers, @"\{\{-?\s*define """ + Regex.Escape(name) + @"""\s*-?\}\}");
        Assert.True(start.Success, $"no define {name}");
        var next = Regex.Match(helpers[(start.Index + start.Length)..], @"\{\{-?\s*define |\{\{/\*");
        var body = next.Success ? helpers.Substring(start.Index + start.Length, next.Index) : helpers[(start.Index + start.Length)..];
        // Drop the define's own closing {{- end -}}.
        return Regex.Replace(body.Trim(), @"\{\{-?\s*end\s*-?\}\}$", "").Trim();
    }

    internal static Dictionary<object, object> Map(object? node) => Assert.IsType<Dictionary<object, object>>(node);

    internal static List<object> List(object? node) => Assert.IsType<List<object>>(node);

    [GeneratedRegex(@"(?m)^---\s*$")]
    private static partial Regex DocumentSeparator();

    [GeneratedRegex(@"^\s*\{\{-?.*-?\}\}\s*$")]
    private static partial Regex ActionOnly();

    [GeneratedRegex(@"\{\{-?\s*(.*?)\s*-?\}\}")]
    private static partial Regex InlineAction();
}
