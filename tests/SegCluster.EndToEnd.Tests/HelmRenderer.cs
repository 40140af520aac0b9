using System.Diagnostics;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// helm/segcluster rendered by a real helm: `helm template` as release <see cref="Release"/> in namespace
/// <see cref="Namespace"/> with the given --set values (and a values file), parsed into the objects Kubernetes would get;
/// `helm lint --strict` the same way. helm is SEGCLUSTER_HELM (build.sh test fetches a pinned helm 3 there when none is
/// on PATH), else helm on PATH. No cluster: `lookup` finds nothing, as at a first install.
/// </summary>
internal static class HelmRenderer
{
    public const string Release = "rel";
    public const string Namespace = "team-a";
    /// <summary>segcluster.fullname of <see cref="Release"/>.</summary>
    public const string FullName = "rel-segcluster";
    private const string Install = "./build.sh test fetches the pinned helm 3 when none is on PATH (a test run outside build.sh "
        + "finds it with SEGCLUSTER_HELM=~/.cache/segcluster/tools/helm-VERSION/helm), or put helm 3 on PATH";

    private static readonly string Chart = RepoPaths.Of("helm", "segcluster");
    /// <summary>helm's cache, config and data folders: empty ones of its own, not the user's repositories or plugins
    /// (deleted when the test process exits).</summary>
    private static readonly Lazy<string> Home = new(() =>
    {
        var home = Directory.CreateTempSubdirectory("segcluster-helm-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(home, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }  // an exception at exit reads as a crashed test host
        };
        return home;
    });
    private static readonly Lazy<Rendered> DefaultRender = new(() => Template());

    public static string? Binary { get; } = Find();

    /// <summary>helm 4 (SEGCLUSTER_HELM4, which build.sh test sets where npm can fetch it), for HelmVersionsTests.</summary>
    public static string? Helm4 { get; } = Environment.GetEnvironmentVariable("SEGCLUSTER_HELM4") is { Length: > 0 } path && File.Exists(path) ? path : null;

    public static bool Installed => Binary is not null;

    public static string MissingReason => Environment.GetEnvironmentVariable("SEGCLUSTER_HELM") is { Length: > 0 } given
        ? $"SEGCLUSTER_HELM is {given}, which does not exist: {Install}"
        : $"helm is not installed: {Install}";

    /// <summary>CI=true: a missing helm fails the chart tests there instead of skipping them, so CI cannot pass with the
    /// chart unrendered.</summary>
    public static bool InCi => Environment.GetEnvironmentVariable("CI") is { } ci && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>The chart with its default values (rendered once, shared).</summary>
    public static Rendered Defaults => DefaultRender.Value;

    /// <summary>`helm template` with each of <paramref name="set"/> ("key=value") as a --set; fails the test if helm fails.</summary>
    public static Rendered Template(params string[] set) => TemplateWith(null, Release, set);

    /// <summary>`helm template` with <paramref name="values"/> as a values file (numbers as YAML reads them, where --set
    /// makes integers of digits) and <paramref name="set"/>; <paramref name="release"/> names the release.</summary>
    public static Rendered TemplateWith(string? values, string release, params string[] set) => TemplateBy(Binary, values, release, set);

    /// <summary><see cref="TemplateWith"/> by the helm at <paramref name="helm"/>.</summary>
    public static Rendered TemplateBy(string? helm, string? values, string release, params string[] set)
    {
        var (exit, output, error) = Helm(helm, ["template", release, Chart, "--namespace", Namespace], values, set);
        Assert.True(exit == 0, $"helm template {string.Join(' ', set)} failed ({exit}):\n{error}");
        return new Rendered(ParseAll(output), $"{release}-segcluster");
    }

    /// <summary>The error of a `helm template` that must fail (a value the schema or a template's `required` refuses).</summary>
    public static string TemplateError(params string[] set) => TemplateErrorWith(null, set);

    /// <summary><see cref="TemplateError"/> with <paramref name="values"/> as a values file.</summary>
    public static string TemplateErrorWith(string? values, params string[] set) => TemplateErrorBy(Binary, values, set);

    /// <summary><see cref="TemplateErrorWith"/> by the helm at <paramref name="helm"/>.</summary>
    public static string TemplateErrorBy(string? helm, string? values, params string[] set)
    {
        var (exit, output, error) = Helm(helm, ["template", Release, Chart, "--namespace", Namespace], values, set);
        Assert.True(exit != 0, $"helm template {string.Join(' ', set)} rendered instead of failing:\n{output}");
        return error;
    }

    /// <summary>`helm lint --strict` (warnings fail too): its exit code and what it printed.</summary>
    public static (int Exit, string Output) Lint(params string[] set) => LintBy(Binary, set);

    /// <summary><see cref="Lint"/> by the helm at <paramref name="helm"/>.</summary>
    public static (int Exit, string Output) LintBy(string? helm, params string[] set)
    {
        var (exit, output, error) = Helm(helm, ["lint", Chart, "--strict", "--namespace", Namespace], null, set);
        return (exit, output + error);
    }

    private static (int Exit, string Output, string Error) Helm(string? helm, string[] command, string? values, string[] set)
    {
        if (helm is null) Assert.Fail(MissingReason + (InCi ? " (CI=true: the chart tests fail without helm instead of skipping)" : ""));
        var info = new ProcessStartInfo(helm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var folder in new[] { "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME" })
            info.Environment[folder] = Path.Combine(Home.Value, folder);
        foreach (var a in command) info.ArgumentList.Add(a);
        string? file = null;
        if (values is not null)
        {
            file = Path.Combine(Home.Value, $"values-{Guid.NewGuid():N}.yaml");
            File.WriteAllText(file, values);
            info.ArgumentList.Add("--values");
            info.ArgumentList.Add(file);
        }
        foreach (var value in set)
        {
            info.ArgumentList.Add("--set");
            info.ArgumentList.Add(value);
        }
        try
        {
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {helm}");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"helm {string.Join(' ', info.ArgumentList)} ran over a minute");
            }
            return (process.ExitCode, output.Result, error.Result);
        }
        finally
        {
            if (file is not null) File.Delete(file);
        }
    }

    /// <summary>Each document of a multi-document stream (helm's `---` apart, `# Source:` comments), empty ones left out.</summary>
    internal static List<Dictionary<object, object>> ParseAll(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
            if (deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
                documents.Add(document);
        return documents;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("SEGCLUSTER_HELM") is { Length: > 0 } given)
            return File.Exists(given) ? given : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, OperatingSystem.IsWindows() ? "helm.exe" : "helm"))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>The objects of one render, with the accessors the chart tests share (<see cref="HelmRenderer"/>).</summary>
internal sealed class Rendered(List<Dictionary<object, object>> objects, string fullName)
{
    public IReadOnlyList<Dictionary<object, object>> Objects => objects;

    public IEnumerable<Dictionary<object, object>> OfKind(string kind) => objects.Where(o => Equals(o["kind"], kind));

    public Dictionary<object, object>? Find(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => Equals(Map(o["metadata"])["name"], name));

    /// <summary>The object of that kind and name; fails naming the objects rendered when there is none.</summary>
    public Dictionary<object, object> Get(string kind, string name) => Find(kind, name)
        ?? throw new Xunit.Sdk.XunitException($"no {kind} {name} among the rendered "
            + string.Join(", ", objects.Select(o => $"{o["kind"]} {Map(o["metadata"])["name"]}")));

    /// <summary>The node StatefulSet's pod template (metadata and spec).</summary>
    public Dictionary<object, object> NodePod => Map(Map(Get("StatefulSet", fullName)["spec"])["template"]);

    public Dictionary<object, object> NodeContainer => Map(Assert.Single(List(Map(NodePod["spec"])["containers"])));

    public List<Dictionary<object, object>> NodeEnv => [.. List(NodeContainer["env"]).Select(Map)];

    /// <summary>The node container's variable of that name (its value or valueFrom); fails when it is not set.</summary>
    public Dictionary<object, object> Variable(string name) => NodeEnv.SingleOrDefault(e => Equals(e["name"], name))
        ?? throw new Xunit.Sdk.XunitException($"the node container has no {name}; it has {string.Join(", ", NodeEnv.Select(e => e["name"]))}");

    public string? Value(string name) => NodeEnv.SingleOrDefault(e => Equals(e["name"], name))?.GetValueOrDefault("value") as string;

    /// <summary>The bundled Redis' StatefulSet.</summary>
    public Dictionary<object, object> Redis => Get("StatefulSet", fullName + "-redis");

    public Dictionary<object, object> RedisPod => Map(Map(Redis["spec"])["template"]);

    public Dictionary<object, object> RedisContainer => Map(Assert.Single(List(Map(RedisPod["spec"])["containers"])));

    /// <summary>A key of a rendered Secret, base64-decoded.</summary>
    public string SecretValue(string secret, string key) =>
        Encoding.UTF8.GetString(Convert.FromBase64String((string)Map(Get("Secret", secret)["data"])[key]));

    /// <summary>Labels of a pod template (or any object's metadata).</summary>
    public static Dictionary<object, object> Labels(Dictionary<object, object> withMetadata) => Map(Map(withMetadata["metadata"])["labels"]);

    public static Dictionary<object, object> Annotations(Dictionary<object, object> withMetadata) =>
        Map(withMetadata["metadata"]).GetValueOrDefault("annotations") as Dictionary<object, object> ?? [];
}

/// <summary>A [Fact] that renders the chart: skipped, with the reason, where helm is not installed, except in CI
/// (CI=true), where it runs and fails saying so.</summary>
public sealed class RequiresHelmFactAttribute : FactAttribute
{
    public RequiresHelmFactAttribute()
    {
        if (!HelmRenderer.Installed && !HelmRenderer.InCi) Skip = HelmRenderer.MissingReason;
    }
}

/// <summary>A [Fact] that renders the chart and runs promtool: skipped where Prometheus is not installed, and where helm
/// is not, as <see cref="RequiresHelmFactAttribute"/>.</summary>
public sealed class RequiresHelmAndPrometheusFactAttribute : FactAttribute
{
    public RequiresHelmAndPrometheusFactAttribute()
    {
        if (!PrometheusServer.Installed) Skip = PrometheusServer.MissingReason;
        else if (!HelmRenderer.Installed && !HelmRenderer.InCi) Skip = HelmRenderer.MissingReason;
    }
}

/// <summary>A [Fact] that renders the chart with helm 4 too: skipped where build.sh could not fetch it (SEGCLUSTER_HELM4),
/// except in CI, where it fails, as <see cref="RequiresHelmFactAttribute"/>.</summary>
public sealed class RequiresHelm4FactAttribute : FactAttribute
{
    public RequiresHelm4FactAttribute()
    {
        if ((!HelmRenderer.Installed || HelmRenderer.Helm4 is null) && !HelmRenderer.InCi)
            Skip = HelmRenderer.Installed ? "helm 4 is not installed: ./build.sh test fetches it (SEGCLUSTER_HELM4) where npm is" : HelmRenderer.MissingReason;
    }
}
