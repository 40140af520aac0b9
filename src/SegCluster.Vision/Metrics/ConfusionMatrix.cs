using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Metrics;

/// <summary>
/// K×K pixel confusion matrix, accumulated with a bincount over (label·K + prediction) of the
/// non-ignore pixels, and per class the pixels given no prediction (an oracle whose label grid has no label there):
/// misses of their class, nobody's false positive. Not thread-safe: one per evaluator or rank, merged with
/// <see cref="Add(ConfusionMatrix)"/>.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;
    private readonly long[] _unpredicted;

    public ConfusionMatrix(int numClasses, int ignoreIndex = 255)
    {
        if (numClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be >= 1");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        _counts = new long[numClasses * numClasses];
        _unpredicted = new long[numClasses];
    }

    public int NumClasses { get; }

    public int IgnoreIndex { get; }

    /// <summary>K·K counts, row-major: row = true class, column = predicted class.</summary>
    public long[] Counts => _counts;

    /// <summary>K counts: pixels of each true class that were given no prediction (false negatives only).</summary>
    public long[] Unpredicted => _unpredicted;

    /// <summary>Adds predictions and labels of the same shape (any, e.g. (B, H, W)), any integer type.</summary>
    /// <param name="abstaining">Predictions equal to the ignore index are "no prediction" (<see cref="Unpredicted"/>), as an
    /// oracle's label grid gives where it has no label; a model's predictions never abstain.</param>
    /// <exception cref="ArgumentException">Shapes differ, or a non-ignore label or a prediction is outside [0, K).</exception>
    public void Add(Tensor predictions, Tensor labels, bool abstaining = false)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(labels);
        if (!predictions.shape.SequenceEqual(labels.shape))
            throw new ArgumentException(
                $"predictions ({string.Join(", ", predictions.shape)}) and labels ({string.Join(", ", labels.shape)}) differ in shape");
        using var scope = NewDisposeScope();
        long k = NumClasses;
        // Counted where the tensors are: on a GPU only the K·K counts cross to the host, not every pixel of the batch.
        var l = labels.flatten().to(ScalarType.Int64);
        var p = predictions.flatten().to(ScalarType.Int64).to(l.device);
        using var ignore = IgnoreIndex.ToScalar();  // held for the native calls (see KeptScalars)
        var valid = l.ne(ignore);
        var lv = l.masked_select(valid);
        var pv = p.masked_select(valid);
        if (lv.numel() == 0) return;
        if (lv.min().item<long>() < 0 || lv.max().item<long>() >= k)
            throw new ArgumentException($"labels must be in [0, {k}) or {IgnoreIndex} (ignore)", nameof(labels));
        if (abstaining)
        {
            var abstained = pv.eq(ignore);
            var missed = torch.bincount(lv.masked_select(abstained), minlength: k).cpu().data<long>().ToArray();
            for (int c = 0; c < k; c++) _unpredicted[c] += missed[c];
            var predicted = abstained.logical_not();
            (lv, pv) = (lv.masked_select(predicted), pv.masked_select(predicted));
            if (lv.numel() == 0) return;
        }
        if (pv.min().item<long>() < 0 || pv.max().item<long>() >= k)
            throw new ArgumentException($"predictions must be in [0, {k})", nameof(predictions));
        using var classes = k.ToScalar();
        var bins = torch.bincount(lv.mul(classes).add(pv, KeptScalars.One), minlength: k * k);  // (K·K) of label·K + prediction
        var values = bins.cpu().data<long>().ToArray();
        for (int i = 0; i < _counts.Length; i++) _counts[i] += values[i];
    }

    /// <summary>Adds another matrix of the same K (e.g. from another rank).</summary>
    public void Add(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NumClasses != NumClasses)
            throw new ArgumentException($"cannot add a {other.NumClasses}-class matrix to a {NumClasses}-class one", nameof(other));
        for (int i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        for (int c = 0; c < _unpredicted.Length; c++) _unpredicted[c] += other._unpredicted[c];
    }

    /// <summary>IoU_k = TP / (TP + FP + FN), FN including the class's unpredicted pixels; NaN for a class absent from both
    /// labels and predictions.</summary>
    public double[] ClassIoU()
    {
        int k = NumClasses;
        var iou = new double[k];
        for (int c = 0; c < k; c++)
        {
            long tp = _counts[c * k + c], row = _unpredicted[c], col = 0;
            for (int j = 0; j < k; j++)
            {
                row += _counts[c * k + j];
                col += _counts[j * k + c];
            }
            long union = row + col - tp;
            iou[c] = union == 0 ? double.NaN : (double)tp / union;
        }
        return iou;
    }

    /// <summary>Mean of the non-NaN class IoUs (classes present in labels or predictions); NaN if none.</summary>
    public double MeanIoU()
    {
        var present = ClassIoU().Where(v => !double.IsNaN(v)).ToArray();
        return present.Length == 0 ? double.NaN : present.Average();
    }

    /// <summary>Correct / counted pixels (unpredicted ones count as wrong); NaN when nothing was counted.</summary>
    public double PixelAccuracy()
    {
        long correct = 0, total = _unpredicted.Sum();
        for (int c = 0; c < NumClasses; c++) correct += _counts[c * NumClasses + c];
        foreach (var v in _counts) total += v;
        return total == 0 ? double.NaN : (double)correct / total;
    }

    public SegmentationMetrics ToMetrics() => new(MeanIoU(), PixelAccuracy(), ClassIoU());
}
