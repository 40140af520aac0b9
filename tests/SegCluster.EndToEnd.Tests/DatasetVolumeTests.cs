using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Specs of kind files are read on the node that trains (DatasetSpecResolver refuses a dataset.path that is not a
/// folder there), so every deployment mounts the datasets into every node, read-only: before, the chart and the
/// compose file could only train the synthetic set.
/// </summary>
public sealed class DatasetVolumeTests
{
    [Fact]
    public void Compose_nodes_mount_the_datasets_read_only_at_data()
    {
        var services = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"]);
        foreach (var name in new[] { "node1", "node2" })
            Assert.Contains(List(Map(services[name])["volumes"]).Cast<string>(), v => v.EndsWith(":/data:ro", StringComparison.Ordinal));
        // ./data is inside the build context (context: .): without this every `docker compose up` sent the datasets to the daemon.
        Assert.Contains("/data/", File.ReadAllLines(RepoPaths.Of(".dockerignore")));
    }

    /// <summary>A spec names files the node reads: each deployment allows only those under the volumes it mounts
    /// (Node:PathRoots), so a submitter cannot make a node read the rest of its container.</summary>
    [Fact]
    public void Both_deployments_confine_spec_paths_to_the_data_and_checkpoint_mounts()
    {
        Assert.Equal(HelmTemplate.Action(".Values.datasets.mountPath | quote"), Variable("SEGCLUSTER_Node__PathRoots__0")["value"]);
        Assert.Equal(HelmTemplate.Action(".Values.checkpoints.mountPath | quote"), Variable("SEGCLUSTER_Node__PathRoots__1")["value"]);

        var services = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"))["services"]);
        foreach (var name in new[] { "node1", "node2" })
        {
            var node = Map(services[name]);
            // SOURCE:TARGET[:ro], the source maybe ${VARIABLE:-default}
            var mounts = List(node["volumes"]).Cast<string>()
                .Select(v => System.Text.RegularExpressions.Regex.Match(v, @"^(?:\$\{[^}]*\}|[^:]+):([^:]+)").Groups[1].Value).ToList();
            var environment = Map(node["environment"]);
            var roots = Enumerable.Range(0, 2).Select(i => (string)environment[$"SEGCLUSTER_Node__PathRoots__{i}"]).ToList();
            Assert.Equal(mounts.Order(), roots.Order());
            Assert.Contains(environment["SEGCLUSTER_Node__CheckpointDirectory"], roots);
        }
    }

    [Fact]
    public void Helm_node_pods_mount_the_datasets_claim_read_only_when_one_is_named()
    {
        var mount = List(NodeContainer["volumeMounts"]).Select(Map).Single(m => Equals(m["name"], "datasets"));
        Assert.Equal(HelmTemplate.Action(".Values.datasets.mountPath | quote"), mount["mountPath"]);
        Assert.Equal("true", mount["readOnly"]);
        var volume = List(Map(NodePod["spec"])["volumes"]).Select(Map).Single(v => Equals(v["name"], "datasets"));
        var claim = Map(volume["persistentVolumeClaim"]);
        Assert.Equal(HelmTemplate.Action(".Values.datasets.existingClaim | quote"), claim["claimName"]);
        Assert.Equal("true", claim["readOnly"]);
        // Both are inside `if .Values.datasets.existingClaim`: without a claim the pod mounts none.
        var template = File.ReadAllText(RepoPaths.Of("helm", "segcluster", "templates", "statefulset.yaml"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(template, @"\{\{- if \.Values\.datasets\.existingClaim \}\}\s*\n(\s*#[^\n]*\n)?[^\n]*name: datasets").Count);

        var datasets = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["datasets"]);
        Assert.Equal("", datasets["existingClaim"]);
        Assert.StartsWith("/", (string)datasets["mountPath"]);
    }
}
