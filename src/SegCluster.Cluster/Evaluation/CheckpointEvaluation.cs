using SegCluster.Abstractions.Messages;
using SegCluster.Vision.Data;
using SegCluster.Vision.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Evaluation;

/// <summary>
/// One worker's part of a distributed evaluation: each sample of <see cref="EvaluationRequest.Indices"/> at its native
/// resolution through the predictor (whole / slide, flip, scales), argmax, into a confusion matrix. Runs on a dedicated
/// thread; <see cref="Done"/> may be read from another thread while it runs.
/// </summary>
public sealed class CheckpointEvaluation(EvaluationRequest request, Device device)
{
    private int _done;

    public int Done => Volatile.Read(ref _done);
    public int Total => request.Indices.Count;

    /// <summary>The K×K confusion counts of this part.</summary>
    public long[] Run(CancellationToken cancellationToken)
    {
        using var checkpoint = CheckpointModel.Load(request.CheckpointPath);
        var dataset = EvaluationDatasets.Open(checkpoint, request.DatasetPath, request.DatasetFormat, request.Split);
        checkpoint.Model.to(device);
        var predictor = InferenceMapping.Predictor(checkpoint, request.Inference);
        var confusion = new ConfusionMatrix(dataset.NumClasses);
        using var noGrad = no_grad();
        foreach (var index in request.Indices)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = SegmentationBatch.Collate([dataset.Get(index)], device);
            var predictions = predictor.Probabilities(batch.Images).argmax(1);  // (1, H, W)
            confusion.Add(predictions, batch.Labels);
            Interlocked.Increment(ref _done);
        }
        return confusion.Counts;
    }
}
