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
}
