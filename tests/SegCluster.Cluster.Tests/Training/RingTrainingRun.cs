using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Bucketing;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>One rank of a test ring trains a seeded tiny model as the worker loop does: rank 0's weights broadcast,
/// then <paramref name="steps"/> steps on this rank's slice of each global batch. Returns the final parameters.</summary>
internal static class RingTrainingRun
{
    public static float[][] Train(RingReduction reduction, int rank, int world, ModelOptions model, SyntheticSceneDataset data,
        int steps, int batchPerRank, double bucketMegabytes = GradientBucketLayout.DefaultCapMegabytes)
    {
        var sgd = new OptimizerOptions(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);
        using var network = ParameterComparison.CreateModel(model, seed: 1 + rank);  // rank 0's weights are broadcast
        ParameterBroadcast.FromRankZero(network, reduction.Reducer);
        using var trainer = new DataParallelTrainer(network, new SegmentationCriterion(new LossOptions()), sgd, reduction.Reducer,
            bucketMegabytes: bucketMegabytes);
        for (var step = 0; step < steps; step++)
        {
            var local = Enumerable.Range((step * world + rank) * batchPerRank, batchPerRank);
            using var batch = SegmentationBatch.Collate(local.Select(data.Get).ToList(), CPU);
            trainer.Step(batch);
        }
        return ParameterComparison.Snapshot(network);
    }
}
