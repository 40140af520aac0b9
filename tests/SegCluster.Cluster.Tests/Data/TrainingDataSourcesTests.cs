using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>
/// Runs on one node share the expensive part of their data (decoded files, generated scenes) but never another
/// run's augmentation or seed: sweep trials vary exactly those on the same files.
/// </summary>
public sealed class TrainingDataSourcesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-sources-").FullName;
    private readonly NodeDataSources _node = new();

    public void Dispose()
    {
        _node.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Specs_differing_in_augmentation_crop_and_seed_share_decoded_files_but_augment_their_own_way()
    {
        TinyFolderDataset.Write(_root, train: 2, val: 1);
        var first = FilesSpec(seed: 1, jitter: 0.2);
        var second = FilesSpec(seed: 2, jitter: 0.5);
        second = second with { Dataset = second.Dataset with { Height = 2 * TinyFolderDataset.Side, Width = 2 * TinyFolderDataset.Side } };  // another crop: still the same files
        var sources = NewSources();

        using var a = sources.Acquire(first, training: true);
        using var b = sources.Acquire(second, training: true);
        var fromA = a.Source.Load(0, epoch: 0);
        var fromB = b.Source.Load(0, epoch: 0);

        Assert.NotEqual(fromA.Image, fromB.Image);
        using (var alone = NewSources().Acquire(second, training: true))
            Assert.Equal(alone.Source.Load(0, epoch: 0).Image, fromB.Image);  // exactly what the second spec gets on a node of its own
        var cache = b.Source.CacheStatistics;
        Assert.Equal((1L, 1L), (cache.Misses, cache.Hits));  // sample 0 decoded once for both runs
    }

    [Fact]
    public void Synthetic_specs_of_other_sizes_get_their_own_scenes()
    {
        var small = new ExperimentSpec { Seed = 3, Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 4 } };
        var large = small with { Dataset = small.Dataset with { TrainCount = 8 } };
        var sources = NewSources();

        using var a = sources.Acquire(small, training: true);
        using var b = sources.Acquire(large, training: true);

        Assert.Equal((4, 8), (a.Source.Count, b.Source.Count));
    }

    [Fact]
    public void Training_on_scribbles_draws_them_from_each_full_mask_and_validation_keeps_the_masks()
    {
        var full = new ExperimentSpec { Seed = 3, Dataset = new DatasetSpec { NumClasses = 3, Height = 32, Width = 32, TrainCount = 4, ValidationCount = 2 } };
        var scribbled = full with { Labels = new LabelsSpec { Mode = LabelsSpec.Scribble } };
        var sources = NewSources();

        using var masks = sources.Acquire(full, training: true);
        using var strokes = sources.Acquire(scribbled, training: true);
        for (int i = 0; i < 4; i++)
        {
            var mask = masks.Source.Load(i, epoch: 0);
            var drawn = strokes.Source.Load(i, epoch: 1);
            Assert.Equal(new ScribbleSynthesizer(3, seed: 3).Draw(mask.Label, mask.Height, mask.Width, key: i), drawn.Label);
            Assert.InRange(drawn.Label.Count(v => v != SegmentationSample.IgnoreLabel), 1, drawn.Label.Length / 4);
        }
        using (var validation = sources.Acquire(scribbled, training: false))
        using (var fullValidation = sources.Acquire(full, training: false))
            Assert.Equal(fullValidation.Source.Load(0, epoch: 0).Label, validation.Source.Load(0, epoch: 0).Label);  // mIoU is measured on full masks
        Assert.Null(SpecMapping.TrainingScribbles(scribbled with
        {
            Labels = new LabelsSpec(),
            Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { SynthesizeScribbles = false } },
        }));  // a dataset with scribbles of its own trains on them as they are
    }

    /// <summary>Block labels of files are one fixed annotation (PAPERS.md §2), made from each mask before augmentation: a
    /// pixel that changes no block's majority changes no training label, whatever crop, scale and flip an epoch draws.</summary>
    [Fact]
    public void Block_labels_of_files_are_made_before_augmentation_so_a_pixel_inside_a_block_changes_no_training_label()
    {
        const int side = TinyFolderDataset.Side;
        string plain = Directory.CreateDirectory(Path.Combine(_root, "plain")).FullName, changed = Directory.CreateDirectory(Path.Combine(_root, "changed")).FullName;
        TinyFolderDataset.Write(plain, train: 2, val: 1);
        // Block (1, 2) at b = 4 (rows 4–7, columns 8–11) holds 12 pixels of class 1 and 4 of class 2; one more 0 keeps it 1.
        TinyFolderDataset.Write(changed, train: 2, val: 1, mask => mask[5 * side + 9] = 0);
        var spec = FilesSpec(seed: 1, jitter: 0) with { Labels = new LabelsSpec { Mode = LabelsSpec.Block, Factor = 4 } };
        var sources = NewSources();

        using var a = sources.Acquire(spec with { Dataset = spec.Dataset with { Path = plain } }, training: true);
        using var b = sources.Acquire(spec with { Dataset = spec.Dataset with { Path = changed } }, training: true);
        for (int epoch = 0; epoch < 6; epoch++)
            for (int i = 0; i < 2; i++)
                Assert.Equal(a.Source.Load(i, epoch).Label, b.Source.Load(i, epoch).Label);
    }

    /// <summary>The ranks of one node share one block annotation of a split (its kept blocks are 1/b² of every mask: 1.5 GiB
    /// per copy for Cityscapes at b = 2, which each rank's lease used to hold); another block size is another annotation.</summary>
    [Fact]
    public void Ranks_of_a_node_share_one_block_annotation_of_a_split()
    {
        TinyFolderDataset.Write(_root, train: 2, val: 1);
        var spec = FilesSpec(seed: 1, jitter: 0) with { Labels = new LabelsSpec { Mode = LabelsSpec.Block, Factor = 4 } };
        var sources = NewSources();
        using var rank0 = sources.Acquire(spec, training: true);
        using var rank1 = sources.Acquire(spec, training: true);
        using var other = sources.Acquire(spec with { Labels = new LabelsSpec { Mode = LabelsSpec.Block, Factor = 2 } }, training: true);

        var shared = Assert.IsType<PaintedBlocks>(Assert.IsType<AugmentedFileSource>(rank0.Source).Annotation);
        Assert.Same(shared, Assert.IsType<AugmentedFileSource>(rank1.Source).Annotation);
        Assert.NotSame(shared, Assert.IsType<AugmentedFileSource>(other.Source).Annotation);
    }

    private TrainingDataSources NewSources() => _node.Create();

    private ExperimentSpec FilesSpec(int seed, double jitter) => new()
    {
        Seed = seed,
        Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = _root, Height = TinyFolderDataset.Side, Width = TinyFolderDataset.Side, ColorJitter = jitter },
    };

    /// <summary>Sparse-label resampling (a shrunk ignore pixel takes a labelled one of its cell) is for scribbles only:
    /// a scribble loss trained on dense masks keeps their ignore borders as they are.</summary>
    [Fact]
    public void Only_scribble_labels_are_resampled_as_sparse()
    {
        var dense = FilesSpec(seed: 1, jitter: 0) with { Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { SynthesizeScribbles = false } } };
        Assert.False(SpecMapping.TrainsOnScribbles(dense));
        Assert.True(SpecMapping.TrainsOnScribbles(dense with { Dataset = dense.Dataset with { TrainSplit = "train_scribble" } }));
        Assert.True(SpecMapping.TrainsOnScribbles(dense with { Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind } }));  // drawn from the masks
        Assert.True(SpecMapping.TrainsOnScribbles(FilesSpec(seed: 1, jitter: 0) with { Labels = new LabelsSpec { Mode = LabelsSpec.Scribble } }));
    }
}

