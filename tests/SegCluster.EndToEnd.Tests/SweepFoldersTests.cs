using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster results NAME` opens the latest run of exactly that sweep name, not of a name that extends it; the
/// sweep command's default cluster size.</summary>
public sealed class SweepFoldersTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("segcluster-sweeps-");

    [Fact]
    public void A_name_finds_its_latest_run_and_not_a_longer_names()
    {
        foreach (var run in new[] { "lr-20261101-090000", "lr-20261102-090000", "lr-big-20261103-090000", "lr-notes" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(_root.FullName, run));
            File.WriteAllText(Path.Combine(folder.FullName, SweepReport.JsonFile), "{}");
        }
        Assert.Equal("lr-20261102-090000", SweepFolders.Find("lr", _root, out _)!.Name);
        Assert.Equal("lr-big-20261103-090000", SweepFolders.Find("lr-big", _root, out _)!.Name);
        Assert.Null(SweepFolders.Find("l", _root, out var error));
        Assert.Contains("no sweep report 'l'", error);
    }

    /// <summary>Default ids asked for in a row (a shell loop of `train --detach`) differ, sort by start, and the latest is what
    /// `results NAME` opens, also beside a run named in the whole-second format of earlier versions.</summary>
    [Fact]
    public void Default_ids_asked_for_in_a_row_differ_and_the_latest_is_found_by_name()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => RunIds.Timestamped("lr")).ToList();
        Assert.Equal(3, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(ids, id => Assert.True(RunIds.IsTimestampedRunOf("lr", id), id));
        foreach (var run in ids.Prepend("lr-20000101-090000"))
        {
            var folder = Directory.CreateDirectory(Path.Combine(_root.FullName, run));
            File.WriteAllText(Path.Combine(folder.FullName, SweepReport.JsonFile), "{}");
        }
        Assert.Equal(ids[^1], SweepFolders.Find("lr", _root, out _)!.Name);
    }

    /// <summary>The embedded cluster of `sweep` is sized for the trials that can run at once, no more than there are,
    /// and on CPU no more workers than cores (at least one trial's).</summary>
    [Fact]
    public void The_default_worker_count_is_capped_by_the_trials_and_the_cores()
    {
        var spec = Path.Combine(_root.FullName, "two.yaml");
        File.WriteAllText(spec, "axes:\n  - { path: seed, kind: grid, values: [1, 2, 3] }\nmax_concurrent_trials: 8\nworkers_per_trial: 2\n");
        Assert.Equal(6, SweepSpecArguments.Load(new FileInfo(spec), workers: null, cores: 16)!.Value.Workers);  // 3 trials × 2, not 8 × 2
        Assert.Equal(4, SweepSpecArguments.Load(new FileInfo(spec), workers: null, cores: 5)!.Value.Workers);   // 2 trials' workers fit 5 cores
        Assert.Equal(2, SweepSpecArguments.Load(new FileInfo(spec), workers: null, cores: 1)!.Value.Workers);   // one trial at least
        Assert.Equal(7, SweepSpecArguments.Load(new FileInfo(spec), workers: 7, cores: 1)!.Value.Workers);      // --workers is obeyed
        File.WriteAllText(spec, "base: { device: 'cuda:0' }\naxes:\n  - { path: seed, kind: grid, values: [1, 2, 3] }\nmax_concurrent_trials: 8\nworkers_per_trial: 2\n");
        Assert.Equal(6, SweepSpecArguments.Load(new FileInfo(spec), workers: null, cores: 1)!.Value.Workers);   // GPU trials: not by cores
    }

    public void Dispose() => _root.Delete(recursive: true);
}
