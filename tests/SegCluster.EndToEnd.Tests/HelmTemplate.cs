using System.Text.RegularExpressions;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A helm template's YAML skeleton, for structural assertions without helm: lines that are only template actions
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

    [GeneratedRegex(@"(?m)^---\s*$")]
    private static partial Regex DocumentSeparator();

    [GeneratedRegex(@"^\s*\{\{-?.*-?\}\}\s*$")]
    private static partial Regex ActionOnly();

    [GeneratedRegex(@"\{\{-?\s*(.*?)\s*-?\}\}")]
    private static partial Regex InlineAction();
}
