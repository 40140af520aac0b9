using SegCluster.Vision.Data;
using SegCluster.Vision.Metrics;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>Evaluation: eval mode, no autograd, batched argmax into a confusion matrix.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="indices"/> of <paramref name="dataset"/>;
    /// the model's train/eval mode is restored afterwards.
    /// </summary>
    public static SegmentationMetrics Evaluate(SegmentationModel model, ISegmentationDataset dataset, IReadOnlyList<int> indices, int batchSize, Device device)
    {
        return EvaluateConfusion(model, dataset, indices, batchSize, device).ToMetrics();
    }

    /// <summary>
    /// Evaluation spread over a data-parallel group: rank r takes samples r, r + W, r + 2W, … and the confusion counts
    /// are summed over the group exactly (<see cref="ExactCount"/> parts through the float32 all-reduce), so every rank
    /// returns the matrix one rank would compute over all samples with the same weights. Call on every rank.
    /// </summary>
    /// <param name="cancellationToken">Checked before each batch (a cancelled run's worker is handed on at once).</param>
    public static ConfusionMatrix EvaluateAcrossRanks(SegmentationModel model, ISegmentationDataset dataset, int batchSize, Device device, IGradientReducer reducer,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        var indices = Enumerable.Range(0, dataset.Count).Where(i => i % reducer.WorldSize == reducer.Rank).ToList();
        var local = EvaluateConfusion(model, dataset, indices, batchSize, device, cancellationToken);
        if (reducer.WorldSize == 1) return local;
        var counts = local.Counts;
        var parts = new float[2 * counts.Length];
        for (int i = 0; i < counts.Length; i++) (parts[2 * i], parts[2 * i + 1]) = ExactCount.ToParts(counts[i]);
        reducer.SumFullPrecision(parts);  // counts must arrive exact: an fp16 gradient wire would round them
        var total = new ConfusionMatrix(local.NumClasses, local.IgnoreIndex);
        for (int i = 0; i < counts.Length; i++) total.Counts[i] = (long)ExactCount.FromParts(parts[2 * i], parts[2 * i + 1]);
        return total;
    }

    /// <summary>As <see cref="Evaluate"/>, returning the confusion matrix (mergeable across ranks).</summary>
    /// <param name="cancellationToken">Checked before each batch: an evaluation at full resolution can take minutes.</param>
    public static ConfusionMatrix EvaluateConfusion(SegmentationModel model, ISegmentationDataset dataset, IReadOnlyList<int> indices, int batchSize, Device device,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var confusion = new ConfusionMatrix(dataset.NumClasses);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var samples = new List<SegmentationSample>(batchSize);
                for (int i = start; i < Math.Min(indices.Count, start + batchSize); i++)
                    samples.Add(dataset.Get(indices[i]));
                using var batch = SegmentationBatch.Collate(samples, device);
                var output = model.call(batch.Images);  // call(): a precision policy's hooks run
                var predictions = output.Logits.argmax(1);  // (B, H, W)
                confusion.Add(predictions, batch.Labels);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return confusion;
    }
}
