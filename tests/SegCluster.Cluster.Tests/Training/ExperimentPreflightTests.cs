using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// The preflight a node runs on submit and at start checks a spec's paths against the node's roots first: a path outside
/// them is refused with the roots' message alone (not "is not an existing folder/file", which told a submitter whether
/// it exists), and a checkpoint in the node's own checkpoint directory still resumes.
/// </summary>
public sealed class ExperimentPreflightTests : IDisposable
{
    private readonly TempDirectory _temp = new("segcluster-preflight-");
    private readonly string _data, _checkpoints, _outside;
    private readonly SpecPathPolicy _node;

    public ExperimentPreflightTests()
    {
        _data = Directory.CreateDirectory(Path.Combine(_temp.FullName, "data")).FullName;
        _checkpoints = Directory.CreateDirectory(Path.Combine(_temp.FullName, "checkpoints")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_temp.FullName, "outside")).FullName;
        _node = SpecPathPolicy.For(new NodeOptions { PathRoots = [_data], CheckpointDirectory = _checkpoints });
    }

    public void Dispose() => _temp.Dispose();

    private string Refused(string field, string path) =>
        $"{field}: '{path}' is outside this node's path roots (Node:PathRoots: {_data}; Node:CheckpointDirectory: {_checkpoints}); " +
        "put it under one of them, or add a root.";

    [Fact]
    public async Task A_dataset_outside_the_roots_is_refused_before_the_folder_is_looked_at()
    {
        foreach (var path in new[] { _outside, Path.Combine(_outside, "missing") })
        {
            var spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = path } };
            var (_, resumeFrom, errors, _, _) = await ExperimentPreflight.CheckAsync(spec, _node);
            Assert.Equal([Refused("dataset.path", path)], errors);
            Assert.Null(resumeFrom);
        }
        // Under a root, a missing folder is still named as such (what lies under the roots is the submitter's to know).
        var missing = Path.Combine(_data, "missing");
        var inside = await ExperimentPreflight.CheckAsync(new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = missing } }, _node);
        Assert.StartsWith($"dataset.path: '{missing}' is not an existing folder", Assert.Single(inside.Errors));
    }

    [Fact]
    public async Task A_checkpoint_outside_the_roots_is_refused_and_one_in_the_checkpoint_directory_resumes()
    {
        var spec = StartingCheckpointTests.Spec();
        var outside = StartingCheckpointTests.TrainOneStep(spec, Path.Combine(_outside, "step-000001.ckpt"));
        var resume = spec with { Training = spec.Training with { ResumeFrom = outside } };
        Assert.Equal([Refused("training.resume_from", outside)], (await ExperimentPreflight.CheckAsync(resume, _node)).Errors);
        Assert.Empty((await ExperimentPreflight.CheckAsync(resume, SpecPathPolicy.Unrestricted)).Errors);  // the same file, unconfined

        var own = StartingCheckpointTests.TrainOneStep(spec, Path.Combine(_checkpoints, "run", "step-000001.ckpt"));
        var (_, resumeFrom, errors, _, _) = await ExperimentPreflight.CheckAsync(spec with { Training = spec.Training with { ResumeFrom = own } }, _node);
        Assert.Empty(errors);
        Assert.Equal(new CheckpointRecord(1, own), resumeFrom);
    }
}
