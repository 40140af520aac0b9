using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>training.max_keep_checkpoints: the newest k step checkpoints up to the one just recorded stay; best.ckpt, other
/// files and later steps left by an earlier ring are not touched.</summary>
public sealed class StepCheckpointsTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("segcluster-step-checkpoints-");

    [Fact]
    public void Prune_keeps_the_newest_up_to_the_current_step_and_leaves_other_files()
    {
        foreach (var step in new[] { 100, 200, 300, 400, 500 }) File.WriteAllText(StepCheckpoints.PathFor(_folder.FullName, step), "");
        File.WriteAllText(Path.Combine(_folder.FullName, "best.ckpt"), "");
        File.WriteAllText(Path.Combine(_folder.FullName, "step-000150.ckpt.tmp"), "");

        // A ring re-formed from step 300 has just written step 400 again; 500 is the broken ring's and will be overwritten.
        var deleted = StepCheckpoints.Prune(_folder.FullName, current: 400, keep: 2);

        Assert.Equal(["step-000100.ckpt", "step-000200.ckpt"], deleted.Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["best.ckpt", "step-000150.ckpt.tmp", "step-000300.ckpt", "step-000400.ckpt", "step-000500.ckpt"],
            _folder.GetFiles().Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Keep_zero_keeps_every_checkpoint_and_a_missing_folder_is_nothing_to_prune()
    {
        File.WriteAllText(StepCheckpoints.PathFor(_folder.FullName, 1), "");
        File.WriteAllText(StepCheckpoints.PathFor(_folder.FullName, 2), "");
        Assert.Empty(StepCheckpoints.Prune(_folder.FullName, current: 2, keep: 0));
        Assert.Equal(2, _folder.GetFiles().Length);
        Assert.Empty(StepCheckpoints.Prune(Path.Combine(_folder.FullName, "absent"), current: 2, keep: 1));
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
