using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Spectral;
using SegCluster.Cluster.Tests.Data;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>The spectral analysis reads a files dataset's labels as training does: more unusable masks than
/// dataset.max_invalid_fraction stop it naming the first (before, each was analysed as an all-ignore label and the report
/// counted it among the labels analysed).</summary>
public sealed class ShardSpectralAnalyserTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("segcluster-spectral-files-");

    public void Dispose() => _root.Delete(recursive: true);

    /// <summary>An experiment on the folder dataset written under the test's root (TinyFolderDataset: 3 classes, 16×16).</summary>
    private ExperimentSpec FolderSpec() => new()
    {
        Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = _root.FullName, Format = "folder", NumClasses = 3, Height = 16, Width = 16 },
    };

    [Fact]
    public void Too_many_unusable_masks_stop_the_analysis_naming_the_first()
    {
        TinyFolderDataset.Write(_root.FullName, train: 4, val: 1);
        File.WriteAllBytes(Path.Combine(_root.FullName, "masks", "train", "s2.png"), [1, 2, 3]);
        var spec = FolderSpec();

        var error = Assert.Throws<ArgumentException>(() => ShardSpectralAnalyser.Analyse(ShardSpectralAnalyser.Labels(spec), [0, 1, 2, 3], batchSize: 2));
        var tolerant = ShardSpectralAnalyser.Analyse(
            ShardSpectralAnalyser.Labels(spec with { Dataset = spec.Dataset with { MaxInvalidFraction = 0.5 } }), [0, 1, 2, 3], batchSize: 2);

        Assert.Contains("max_invalid_fraction", error.Message);
        Assert.Contains("s2.png", error.Message);
        Assert.Equal(4, tolerant.Images);  // within the limit the unusable mask is all-ignore, as in training
    }

    /// <summary>The limit is of the labels analysed, not of the split: 1 broken mask among the 4 analysed of 40 is over 5%
    /// (judged against the split, up to 2 would have passed unnoticed).</summary>
    [Fact]
    public void The_limit_applies_to_the_labels_analysed_not_the_whole_split()
    {
        TinyFolderDataset.Write(_root.FullName, train: 40, val: 1);
        File.WriteAllBytes(Path.Combine(_root.FullName, "masks", "train", "s1.png"), [1, 2, 3]);
        var spec = FolderSpec();

        var error = Assert.Throws<ArgumentException>(() => ShardSpectralAnalyser.Analyse(ShardSpectralAnalyser.Labels(spec, analysed: 4), [0, 1, 2, 3], batchSize: 2));

        Assert.Contains("s1.png", error.Message);
    }
}
