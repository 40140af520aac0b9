using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Normalization;
using SegCluster.Vision.Training;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// A reducer that fails inside backward (SyncBatchNorm's all-reduces run there, called by autograd from native code) must
/// neither end the process nor let the step go on with what backward left: Ctrl-C during an embedded run cancelled the
/// in-memory group there and crashed the CLI ("Unhandled exception. System.OperationCanceledException", exit 134). Step
/// throws the reducer's own exception once backward is over, and nothing is applied.
/// </summary>
public sealed class FailureInsideBackwardTests
{
    private static readonly OptimizerOptions Optimizer = new(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4);

    [Theory]
    [InlineData(0.0)]  // one gradient all-reduce after backward
    [InlineData(0.002)]  // gradient buckets overlapping backward, on the reduction stream with SyncBatchNorm's sums
    public void A_sum_cancelled_in_backward_fails_the_step_and_changes_nothing(double bucketMegabytes)
    {
        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 2, Seed: 5));
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.SyncBatchNorm);
        // Forward sums: each SyncBatchNorm's two, then the loss statistics; the next sum is backward's first.
        var reducer = new CancelledAfter(succeeding: 2 * model.modules().OfType<SyncBatchNorm2d>().Count() + 1);
        var before = TestData.Snapshot(model);

        using (var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), Optimizer, reducer, bucketMegabytes: bucketMegabytes))
        {
            using var batch = TestData.Batch(scenes, [0, 1]);
            Assert.Same(reducer.Cancellation, Assert.Throws<OperationCanceledException>(() => trainer.Step(batch)));
            Assert.Equal((0L, 0L), (trainer.CompletedSteps, trainer.OptimizerSteps));
            Assert.All(trainer.OptimizerStateSnapshot(), m => Assert.Equal(0f, m));
        }
        Assert.Equal(reducer.Succeeding + 1, reducer.Calls);  // no sum reached the broken group after its failure
        Assert.Equal(before, TestData.Snapshot(model));
    }

    /// <summary>Rank 0 of two whose run is cancelled: the first <see cref="Succeeding"/> sums return (the buffer unchanged, as
    /// if the peer sent zeros), every later one throws <see cref="Cancellation"/> at once, as the cancelled in-memory group does.</summary>
    private sealed class CancelledAfter(int succeeding) : IGradientReducer
    {
        private int _calls;

        public int Succeeding => succeeding;

        public int Calls => Volatile.Read(ref _calls);

        public OperationCanceledException Cancellation { get; } = new("the run was cancelled");

        public int Rank => 0;

        public int WorldSize => 2;

        public void Sum(Memory<float> buffer)
        {
            if (Interlocked.Increment(ref _calls) > succeeding) throw Cancellation;
        }
    }
}
