using static SegCluster.EndToEnd.Tests.HelmRenderer;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `helm lint --strict` (warnings fail too; the values checked against values.schema.json, every template rendered and
/// parsed) passes with the default values and with the value sets a user turns on, and fails on values the schema
/// refuses, with its message.
/// </summary>
public sealed class HelmLintTests
{
    /// <summary>Defaults; GPUs with monitoring; an external Redis with the token from a Secret and no policies; Redis
    /// from a Secret without persistence, set resources and OnDelete.</summary>
    internal static readonly string[][] ValueSets =
    [
        [],
        ["nodes.gpusPerNode=8", "nodes.runtimeClassName=nvidia", "serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus"],
        ["redis.bundled=false", "redis.external=redis.example:6379", "token.existingSecret=cluster-token", "networkPolicy.enabled=false"],
        ["redis.bundled=false", "redis.existingSecret=shared-redis", "redis.persistence.enabled=false", "nodes.resources.requests.cpu=3",
            "nodes.updateStrategy.type=OnDelete", "checkpoints.existingClaim=checkpoints", "datasets.existingClaim=datasets", "serviceAccount.create=false"],
    ];

    [RequiresHelmFact]
    public void The_chart_lints_strictly_with_the_defaults_and_each_value_set()
    {
        foreach (var set in ValueSets)
        {
            var (exit, output) = Lint(set);
            Assert.True(exit == 0, $"helm lint --strict {string.Join(' ', set)} failed:\n{output}");
            Assert.Contains("1 chart(s) linted, 0 chart(s) failed", output);
        }
    }

    [RequiresHelmFact]
    public void Lint_fails_on_a_value_the_schema_refuses_and_reports_a_required_value_left_out()
    {
        var (exit, output) = Lint("nodes.gpusPerNode=two");
        Assert.NotEqual(0, exit);
        Assert.Contains("nodes.gpusPerNode: Invalid type. Expected: integer, given: string", output);

        // A `required` value left out: lint renders in lint mode, where it is only reported ([INFO], exit 0); the
        // install's render (helm template) is what refuses it.
        const string Required = "redis.external must be host:port (or set redis.existingSecret) when redis.bundled is false";
        Assert.Contains(Required, Lint("redis.bundled=false").Output);
        Assert.Contains(Required, TemplateError("redis.bundled=false"));
    }
}
