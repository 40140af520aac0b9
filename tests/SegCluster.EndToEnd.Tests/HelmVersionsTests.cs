using YamlDotNet.Serialization;
using static SegCluster.EndToEnd.Tests.HelmRenderer;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The chart is rendered by helm 3 (the pinned one the other chart tests use) and works with helm 4 as well: helm 4
/// lints it strictly and renders the same objects from each of <see cref="HelmLintTests.ValueSets"/>, and refuses what
/// the schema refuses.
/// </summary>
public sealed class HelmVersionsTests
{
    [RequiresHelm4Fact]
    public void Helm_4_lints_and_renders_the_chart_as_helm_3_does()
    {
        Assert.True(Helm4 is not null, "helm 4 is not installed: ./build.sh test fetches it with npm and sets SEGCLUSTER_HELM4");
        var serializer = new SerializerBuilder().Build();
        foreach (var set in HelmLintTests.ValueSets)
        {
            var (exit, output) = LintBy(Helm4, set);
            Assert.True(exit == 0, $"helm 4 lint --strict {string.Join(' ', set)} failed:\n{output}");
            // The generated token and password differ between any two renders: given ones make the renders comparable.
            string[] fixedSecrets = [.. set, "token.value=0123456789abcdef", "redis.auth.password=fedcba9876543210"];
            Assert.Equal(serializer.Serialize(TemplateWith(null, Release, fixedSecrets).Objects),
                serializer.Serialize(TemplateBy(Helm4, null, Release, fixedSecrets).Objects));
        }
        Assert.Contains("gpusPerNode", TemplateErrorBy(Helm4, null, "gpusPerNode=8"));
    }
}
