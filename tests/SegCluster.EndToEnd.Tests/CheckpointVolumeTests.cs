using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Node:CheckpointDirectory in every deployment points at a mounted, shared volume the node's uid (10001) can write:
/// the image's default ./checkpoints is /app/checkpoints, root's, and on no volume another node or pod could read.
/// </summary>
public sealed class CheckpointVolumeTests
{
    private const string Setting = "SEGCLUSTER_Node__CheckpointDirectory";

    [Fact]
    public void Compose_nodes_share_a_named_volume_at_their_checkpoint_directory()
    {
        var compose = DeploymentFilesTests.LoadYaml(RepoPaths.Of("docker-compose.yml"));
        var services = Map(compose["services"]);
        var named = Map(compose["volumes"]).Keys.Cast<string>().ToHashSet();
        var sources = new HashSet<string>();
        foreach (var name in new[] { "node1", "node2" })
        {
            var node = Map(services[name]);
            var directory = (string)Map(node["environment"])[Setting];
            var mount = List(node["volumes"]).Cast<string>().Select(v => v.Split(':')).SingleOrDefault(v => v[1] == directory);
            Assert.True(mount is not null, $"{name}: {Setting} {directory} is on no volume");
            Assert.Contains(mount[0], named);
            sources.Add(mount[0]);
        }
        Assert.Single(sources);
    }

    [Fact]
    public void The_image_makes_its_checkpoint_directory_the_node_users()
    {
        var dockerfile = File.ReadAllText(RepoPaths.Of("deploy", "docker", "Dockerfile"));
        var directory = Assert.Single(System.Text.RegularExpressions.Regex.Matches(dockerfile, $@"\b{Setting}=(\S+)")).Groups[1].Value;
        var user = System.Text.RegularExpressions.Regex.Match(dockerfile, @"(?m)^USER (\d+)$").Groups[1].Value;
        Assert.Contains($"mkdir -p {directory}", dockerfile);
        Assert.Contains($"chown {user}:{user} {directory}", dockerfile);
        var compose = File.ReadAllText(RepoPaths.Of("docker-compose.yml"));
        Assert.Contains($"{Setting}: {directory}", compose);
    }

    [Fact]
    public void Helm_node_pods_mount_one_read_write_many_claim_at_their_checkpoint_directory()
    {
        var directory = Variable(Setting)["value"];
        Assert.Equal(HelmTemplate.Action(".Values.checkpoints.mountPath | quote"), directory);
        var mount = List(NodeContainer["volumeMounts"]).Select(Map).Single(m => Equals(m["mountPath"], directory));
        var volume = List(Map(NodePod["spec"])["volumes"]).Select(Map).Single(v => Equals(v["name"], mount["name"]));
        var claimName = Map(volume["persistentVolumeClaim"])["claimName"];

        var claim = HelmTemplate.Load(RepoPaths.Of("helm", "segcluster", "templates", "checkpoints.yaml"));
        Assert.Equal("PersistentVolumeClaim", claim["kind"]);
        Assert.Equal(claimName, Map(claim["metadata"])["name"]);
        Assert.Equal(["ReadWriteMany"], List(Map(claim["spec"])["accessModes"]).Cast<string>());

        var values = DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"));
        var checkpoints = Map(values["checkpoints"]);
        Assert.StartsWith("/", (string)checkpoints["mountPath"]);
        Assert.Equal("10001", Map(values["podSecurityContext"])["fsGroup"]);
    }

    [Fact]
    public void Without_a_storage_class_or_claim_notes_warn_that_the_default_class_may_not_offer_read_write_many()
    {
        // A default-class claim of ReadWriteMany stays Pending on most clusters (EBS, PD, Azure Disk, local-path) and every
        // node pod with it; the render cannot know the class' modes, and refusing it would break the default install.
        var notes = File.ReadAllText(RepoPaths.Of("helm", "segcluster", "templates", "NOTES.txt"));
        var warning = System.Text.RegularExpressions.Regex.Match(notes,
            @"\{\{-\s*if and \(not \.Values\.checkpoints\.existingClaim\) \(not \.Values\.checkpoints\.storageClass\)\s*\}\}(?<text>.*?)\{\{-\s*end\s*\}\}",
            System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(warning.Success, "NOTES.txt has no warning for a checkpoint claim on the default StorageClass");
        Assert.Contains("WARNING", warning.Groups["text"].Value);
        Assert.Contains("ReadWriteMany", warning.Groups["text"].Value);
        Assert.Contains("checkpoints.storageClass", warning.Groups["text"].Value);
        var checkpoints = Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["checkpoints"]);
        Assert.Equal("", checkpoints["storageClass"]);
        Assert.Contains("NOTES prints a warning", File.ReadAllText(RepoPaths.Of("helm", "segcluster", "values.yaml")));
    }
}
