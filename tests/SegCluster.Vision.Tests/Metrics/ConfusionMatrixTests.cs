using SegCluster.Vision.Metrics;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Metrics;

public class ConfusionMatrixTests
{
    [Fact]
    public void KnownCaseWithIgnorePixels()
    {
        // K = 3 (classes 0, 1, 2); class 2 never appears in labels or predictions.
        // labels      : 0 0 0 1 | 1 1 255 255
        // predictions : 0 0 1 1 | 1 0   2   0     (the 255 columns must not count)
        using var labels = tensor(new long[] { 0, 0, 0, 1, 1, 1, 255, 255 }).reshape(2, 4);
        using var predictions = tensor(new long[] { 0, 0, 1, 1, 1, 0, 2, 0 }).reshape(2, 4);
        var cm = new ConfusionMatrix(3);
        cm.Add(predictions, labels);

        // rows = truth: class 0 → predicted (0, 0, 1); class 1 → predicted (1, 1, 0)
        Assert.Equal(new long[] { 2, 1, 0, 1, 2, 0, 0, 0, 0 }, cm.Counts);
        // IoU_0 = TP 2 / (TP 2 + FP 1 + FN 1) = 0.5; IoU_1 = 2 / (2 + 1 + 1) = 0.5; IoU_2 absent → NaN
        var iou = cm.ClassIoU();
        Assert.Equal(0.5, iou[0], 12);
        Assert.Equal(0.5, iou[1], 12);
        Assert.True(double.IsNaN(iou[2]));
        Assert.Equal(0.5, cm.MeanIoU(), 12);           // nan-mean over classes 0 and 1
        Assert.Equal(4.0 / 6.0, cm.PixelAccuracy(), 12); // 4 correct of 6 counted
    }

    [Fact]
    public void ClassOnlyPredictedCountsAsPresentWithIoUZero()
    {
        using var labels = tensor(new long[] { 0, 0, 0, 0 });
        using var predictions = tensor(new long[] { 0, 0, 0, 2 });
        var cm = new ConfusionMatrix(3);
        cm.Add(predictions, labels);
        var iou = cm.ClassIoU();
        Assert.Equal(0.75, iou[0], 12);   // 3 / (3 + 0 + 1)
        Assert.True(double.IsNaN(iou[1]));
        Assert.Equal(0.0, iou[2], 12);    // 0 / (0 + 1 + 0)
        Assert.Equal(0.375, cm.MeanIoU(), 12);
    }

    /// <summary>An oracle with no label for a pixel abstains: a miss of the pixel's class, nobody's false positive; without
    /// abstaining, a prediction of the ignore index is out of range.</summary>
    [Fact]
    public void AnAbstainedPixelIsAMissOfItsClassOnly()
    {
        // labels      : 0 0 1 1 255
        // predictions : 0 255 1 255 0     (abstains on one pixel of each class; the ignore label does not count)
        using var labels = tensor(new long[] { 0, 0, 1, 1, 255 });
        using var predictions = tensor(new long[] { 0, 255, 1, 255, 0 });
        var cm = new ConfusionMatrix(3);
        cm.Add(predictions, labels, abstaining: true);

        Assert.Equal(new long[] { 1, 0, 0, 0, 1, 0, 0, 0, 0 }, cm.Counts);
        Assert.Equal(new long[] { 1, 1, 0 }, cm.Unpredicted);
        Assert.Equal(0.5, cm.MeanIoU(), 12);             // 1 / (1 + 0 + 1) for classes 0 and 1; class 2 absent
        Assert.Equal(0.5, cm.PixelAccuracy(), 12);       // 2 correct of 4 labelled
        var merged = new ConfusionMatrix(3);
        merged.Add(cm);
        Assert.Equal(cm.Unpredicted, merged.Unpredicted);
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(3).Add(predictions, labels));
    }

    [Fact]
    public void MergingMatricesEqualsAddingAllPixelsToOne()
    {
        using var l1 = tensor(new long[] { 0, 1, 2, 255 });
        using var p1 = tensor(new long[] { 0, 2, 2, 1 });
        using var l2 = tensor(new long[] { 2, 2, 1, 0 });
        using var p2 = tensor(new long[] { 2, 0, 1, 0 });
        var a = new ConfusionMatrix(3);
        a.Add(p1, l1);
        var b = new ConfusionMatrix(3);
        b.Add(p2, l2);
        a.Add(b);
        var all = new ConfusionMatrix(3);
        using var l = cat([l1, l2]);
        using var p = cat([p1, p2]);
        all.Add(p, l);
        Assert.Equal(all.Counts, a.Counts);
    }

    [Fact]
    public void LabelOutsideTheClassesIsRejected()
    {
        using var labels = tensor(new long[] { 0, 7 });
        using var predictions = tensor(new long[] { 0, 0 });
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(3).Add(predictions, labels));
    }
}
