using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Security;

namespace SegCluster.Cluster.Tests.Security;

/// <summary>
/// Node:PathRoots confines the paths a spec names to the node's roots: a path outside them, one that leaves them with
/// "..", a sibling that only shares a root's prefix and a link inside a root that points outside are each refused with one
/// text naming the field, the path and the setting, whether the path exists or not; paths under a root (and the node's
/// checkpoint directory) are allowed; without roots everything is, as before.
/// </summary>
public sealed class SpecPathPolicyTests : IDisposable
{
    private readonly TempDirectory _temp = new("segcluster-path-roots-");
    private readonly string _root, _outside;

    public SpecPathPolicyTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_temp.FullName, "data")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_temp.FullName, "secrets")).FullName;
        File.WriteAllText(Path.Combine(_outside, "key"), "secret");
        Directory.CreateDirectory(Path.Combine(_root, "cityscapes"));
    }

    public void Dispose() => _temp.Dispose();

    private SpecPathPolicy Policy => new([_root]);

    private string Refused(string path) =>
        $"dataset.path: '{path}' is outside this node's path roots (Node:PathRoots: {_root}); put it under one of them, or add a root.";

    [Fact]
    public void A_path_outside_the_roots_is_refused_naming_the_field_the_path_and_the_setting()
    {
        var path = Path.Combine(_outside, "key");
        Assert.Equal(Refused(path), Policy.Refusal("dataset.path", path));
        Assert.Equal(Refused("/etc/passwd"), Policy.Refusal("dataset.path", "/etc/passwd"));
        var spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = path }, Training = new TrainingSpec { LoadFrom = path } };
        Assert.Equal([Refused(path), Refused(path).Replace("dataset.path", "training.load_from")], Policy.Refusals(spec));
    }

    [Fact]
    public void A_dot_dot_escape_is_refused()
    {
        foreach (var path in new[] { Path.Combine(_root, "..", "secrets", "key"), Path.Combine(_root, "cityscapes", "..", "..", "secrets", "key"), _root + "/../secrets" })
            Assert.Equal(Refused(path), Policy.Refusal("dataset.path", path));
    }

    [Fact]
    public void A_sibling_that_only_shares_the_roots_prefix_is_refused()
    {
        var sibling = Directory.CreateDirectory(_root + "2").FullName;  // .../data2 beside the root .../data
        Assert.Equal(Refused(sibling), Policy.Refusal("dataset.path", sibling));
        Assert.Equal(Refused(sibling + "/x"), Policy.Refusal("dataset.path", sibling + "/x"));
    }

    [Fact]
    public void A_link_inside_a_root_that_points_outside_is_refused()
    {
        var folderLink = Path.Combine(_root, "elsewhere");
        Directory.CreateSymbolicLink(folderLink, _outside);
        var fileLink = Path.Combine(_root, "weights.pt");
        File.CreateSymbolicLink(fileLink, Path.Combine(_outside, "key"));
        var relativeLink = Path.Combine(_root, "up");
        Directory.CreateSymbolicLink(relativeLink, "../secrets");
        var deepLink = Path.Combine(_root, "deep");
        Directory.CreateSymbolicLink(deepLink, Path.Combine(_outside, "a", "b"));

        foreach (var path in new[] { folderLink, Path.Combine(folderLink, "key"), fileLink, Path.Combine(relativeLink, "key"),
                     // as written it is …/data/cityscapes, but the system takes ".." from the link's target (…/secrets/a)
                     Path.Combine(deepLink, "..", "cityscapes") })
            Assert.Equal(Refused(path), Policy.Refusal("dataset.path", path));
    }

    [Fact]
    public void A_path_under_a_root_is_allowed()
    {
        var inside = Directory.CreateSymbolicLink(Path.Combine(_root, "current"), Path.Combine(_root, "cityscapes")).FullName;
        var viaLink = Directory.CreateSymbolicLink(Path.Combine(_temp.FullName, "mounted"), _root).FullName;

        foreach (var path in new[] { _root, Path.Combine(_root, "cityscapes"), Path.Combine(_root, "cityscapes", "..", "missing", "file"),
                     _root + "/", inside, Path.Combine(inside, "leftImg8bit") })
            Assert.Null(Policy.Refusal("dataset.path", path));
        // A root that is itself a link (a mount point reached through one): paths by either name.
        Assert.Null(new SpecPathPolicy([viaLink]).Refusal("dataset.path", Path.Combine(viaLink, "cityscapes")));
        Assert.Null(new SpecPathPolicy([viaLink]).Refusal("dataset.path", Path.Combine(_root, "cityscapes")));
        Assert.NotNull(new SpecPathPolicy([viaLink]).Refusal("dataset.path", _outside));
    }

    /// <summary>The refusal is no oracle: the same path gets the same text before and after the file is created, directly
    /// or behind a link in a root.</summary>
    [Fact]
    public void The_refusal_is_the_same_whether_the_outside_path_exists_or_not()
    {
        var link = Path.Combine(_root, "later");
        File.CreateSymbolicLink(link, Path.Combine(_outside, "later"));
        foreach (var path in new[] { Path.Combine(_outside, "later"), link })
        {
            var missing = Policy.Refusal("training.resume_from", path);
            File.WriteAllText(Path.Combine(_outside, "later"), "x");
            var existing = Policy.Refusal("training.resume_from", path);
            File.Delete(Path.Combine(_outside, "later"));
            Assert.NotNull(missing);
            Assert.Equal(missing, existing);
        }
    }

    [Fact]
    public void Without_roots_every_path_is_allowed()
    {
        var path = Path.Combine(_outside, "key");
        foreach (var policy in new[] { SpecPathPolicy.Unrestricted, SpecPathPolicy.For(new NodeOptions { CheckpointDirectory = _root }) })
        {
            Assert.False(policy.Confines);
            Assert.Null(policy.Refusal("dataset.path", path));
            Assert.Null(policy.Refusal("dataset.path", Path.Combine(_root, "..", "secrets")));
            Assert.Empty(policy.Refusals(new TrainingAssignment("e", new ExperimentSpec { Training = new TrainingSpec { ResumeFrom = path } }, 0, [], "", "e#1")));
        }
    }

    /// <summary>The node's own checkpoints resume: Node:CheckpointDirectory is a root once any root is set, and the
    /// refusal names it beside Node:PathRoots.</summary>
    [Fact]
    public void The_checkpoint_directory_is_a_root_once_roots_are_set()
    {
        var checkpoints = Directory.CreateDirectory(Path.Combine(_temp.FullName, "checkpoints")).FullName;
        var policy = SpecPathPolicy.For(new NodeOptions { PathRoots = [_root], CheckpointDirectory = checkpoints });

        Assert.Null(policy.Refusal("training.resume_from", Path.Combine(checkpoints, "run", "step-000800.ckpt")));
        Assert.Equal($"training.resume_from: '{_outside}' is outside this node's path roots (Node:PathRoots: {_root}; " +
                     $"Node:CheckpointDirectory: {checkpoints}); put it under one of them, or add a root.", policy.Refusal("training.resume_from", _outside));
        var assignment = new TrainingAssignment("e", new ExperimentSpec(), 0, [], "", "e#2") { ResumeFrom = new CheckpointRecord(800, _outside) };
        Assert.Equal([$"the checkpoint this ring resumes from: '{_outside}' is outside this node's path roots (Node:PathRoots: {_root}; " +
                      $"Node:CheckpointDirectory: {checkpoints}); put it under one of them, or add a root."], policy.Refusals(assignment));
    }

    [Theory]
    [InlineData("", "Node:PathRoots:1 is empty; give an absolute directory")]
    [InlineData("  ", "Node:PathRoots:1 is empty; give an absolute directory")]
    [InlineData("data", "Node:PathRoots:1 'data' is relative; give an absolute directory (e.g. /data)")]
    [InlineData("./data", "Node:PathRoots:1 './data' is relative; give an absolute directory (e.g. /data)")]
    public void The_node_refuses_an_empty_or_relative_root_naming_the_setting(string root, string error)
    {
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { Devices = ["cpu"], PathRoots = ["/data", root] });
        Assert.StartsWith(error, Assert.Single(result.Failures!));
        Assert.True(new NodeOptionsValidator().Validate(null, new NodeOptions { Devices = ["cpu"], PathRoots = ["/data", "/checkpoints"] }).Succeeded);
    }
}
