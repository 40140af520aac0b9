using SegCluster.Vision.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Data;

public class SegmentationBatchTests
{
    [Fact]
    public void CollateStacksImagesAndLabelsWithTheRightTypesAndSurvivesTheCallersScope()
    {
        var d = new SyntheticSceneDataset(new SyntheticSceneOptions(Height: 32, Width: 48, Count: 3));
        SegmentationBatch batch;
        using (NewDisposeScope())
            batch = TestData.Batch(d, [0, 1, 2]);
        using (batch)
        {
            Assert.Equal(new long[] { 3, 3, 32, 48 }, batch.Images.shape);
            Assert.Equal(new long[] { 3, 32, 48 }, batch.Labels.shape);
            Assert.Equal(ScalarType.Float32, batch.Images.dtype);
            Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
            Assert.Equal(3, batch.Count);
            var s1 = d.Get(1);
            Assert.Equal(s1.Label.Select(b => (long)b).ToArray(), batch.Labels[1].flatten().data<long>().ToArray());
            Assert.Equal(s1.Image, batch.Images[1].flatten().data<float>().ToArray());
        }
    }

    /// <summary>Collation's copy happens once, into the host batch (on the loader's thread, PrefetchedBatch.Batch): on
    /// the CPU the batch's images are that array itself, and nothing the batch does reaches the samples (a sample cache
    /// hands out its arrays).</summary>
    [Fact]
    public void AHostBatchIsCopiedFromItsSamplesOnceAndUsedInPlaceOnTheCpu()
    {
        var d = new SyntheticSceneDataset(new SyntheticSceneOptions(Height: 16, Width: 32, Count: 2));
        var samples = new[] { d.Get(0), d.Get(1) };
        var host = HostBatch.Collate(samples);
        Assert.Equal(samples[1].Label, host.Labels.AsSpan(512, 512).ToArray());
        Assert.Equal(samples[1].Image, host.Images.AsSpan(3 * 512, 3 * 512).ToArray());

        using var batch = SegmentationBatch.FromHost(host, CPU);
        host.Images[3 * 512] = 42f;
        Assert.Equal(42f, batch.Images[1, 0, 0, 0].item<float>());  // no second copy
        using (no_grad()) batch.Images.mul_(2);
        Assert.Equal(d.Get(1).Image[0], samples[1].Image[0]);  // the samples are untouched
        Assert.Equal(samples[1].Label.Select(b => (long)b).ToArray(), batch.Labels[1].flatten().data<long>().ToArray());
    }

    /// <summary>The content mask is built when first asked for; a batch disposed before that builds none (before, Dispose
    /// read Content after disposing the images and threw on a padded batch).</summary>
    [Fact]
    public void APaddedBatchBuildsItsContentMaskOnDemandAndDisposesWithoutIt()
    {
        var d = new SyntheticSceneDataset(new SyntheticSceneOptions(Height: 16, Width: 16, Count: 2));
        var padded = d.Get(0) with { Content = (5, 6) };
        SegmentationBatch.Collate([padded, d.Get(1)], CPU).Dispose();

        using var batch = SegmentationBatch.Collate([padded, d.Get(1)], CPU);
        var mask = batch.Content!;
        Assert.Equal([2L, 1, 16, 16], mask.shape);
        Assert.Equal(5 * 6 + 256, mask.sum().item<float>());
        Assert.Equal(0f, mask[0, 0, 5, 0].item<float>());
        Assert.Equal(0f, mask[0, 0, 0, 6].item<float>());
        Assert.Same(mask, batch.Content);
        Assert.Null(TestData.Batch(d, [0, 1]).Content);
    }
}

