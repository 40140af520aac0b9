using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Bucketing;

namespace SegCluster.Vision.Tests.Training.Bucketing;

/// <summary>
/// After one failed all-reduce the stream is aborted, like an aborted NCCL communicator: what is queued behind the
/// failure and whatever comes later fails at once with the first exception, instead of each sum waiting on a broken
/// ring for the reducer's timeout (60 s per bucket in the cluster). The reducer here hangs forever after its failure,
/// so without the abort these tests would block; the bound on each wait only catches that hang.
/// </summary>
public class ReductionStreamTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task EverySumAfterTheFirstFailureFailsAtOnceWithThatFailure()
    {
        using var reducer = new FailingThenHangingReducer(succeeding: 1);
        using var stream = new ReductionStream(reducer);
        var queued = Enumerable.Range(0, 4).Select(_ => stream.Launch(new float[3])).ToArray();
        var all = Task.WhenAll(queued);
        bool prompt = await EndsWithin(all);
        if (!prompt) await ReleaseThenWait(reducer, all);
        Assert.True(prompt, "sums queued behind the failure waited on the hung reducer");

        Assert.True(queued[0].IsCompletedSuccessfully);
        foreach (var failed in queued[1..]) Assert.Same(reducer.Failure, failed.Exception!.InnerException);
        Assert.Same(reducer.Failure, Assert.Throws<IOException>(() => stream.Sum(new float[3])));
        Assert.Same(reducer.Failure, stream.Failure);
        Assert.Equal(0, reducer.HungCalls);
    }

    /// <summary>A full-precision sum (weights) reaches the inner reducer as one, in queue order: the interface's default
    /// would send it through the gradient wire (fp16 on a compressed ring) and round every weight.</summary>
    [Fact]
    public void A_full_precision_sum_is_forwarded_as_one_in_order()
    {
        var inner = new RecordingReducer();
        using (var stream = new ReductionStream(inner))
        {
            var bucket = stream.Launch(new float[2]);
            stream.SumFullPrecision(new float[3]);
            stream.Sum(new float[4]);
            Assert.True(bucket.IsCompletedSuccessfully);
        }
        Assert.Equal(["wire 2", "fp32 3", "wire 4"], inner.Calls);
    }

    /// <summary>A rank whose backward failed outside the reducer (DifferentiableAllReduce) aborts its stream: later sums fail
    /// with that reason and never reach the reducer, and an abort does not replace the reducer's own first failure.</summary>
    [Fact]
    public void An_aborted_stream_fails_later_sums_with_the_reason_and_reaches_no_reducer()
    {
        var inner = new RecordingReducer();
        using var stream = new ReductionStream(inner);
        stream.Sum(new float[2]);
        var reason = new OutOfMemoryException("copying a gradient to the host");

        stream.Abort(reason);
        stream.Abort(new InvalidOperationException("a later abort"));

        Assert.Same(reason, Assert.Throws<OutOfMemoryException>(() => stream.Sum(new float[3])));
        Assert.Same(reason, stream.Launch(new float[4]).Exception!.InnerException);
        Assert.Equal(["wire 2"], inner.Calls);
    }

    private sealed class RecordingReducer : IGradientReducer
    {
        public List<string> Calls { get; } = [];
        public int Rank => 0;
        public int WorldSize => 2;
        public void Sum(Memory<float> buffer) => Calls.Add($"wire {buffer.Length}");
        public void SumFullPrecision(Memory<float> buffer) => Calls.Add($"fp32 {buffer.Length}");
    }

    /// <summary>
    /// The loss statistics' sum succeeds, the first gradient bucket's fails, and the reducer then hangs: Step must throw
    /// the reducer's exception once backward is over rather than wait for the remaining buckets, and the next Step must
    /// fail at once with the same exception (the trainer is rebuilt to recover).
    /// </summary>
    [Fact]
    public async Task AStepAfterAFailedBucketFailsPromptlyWithTheFirstException()
    {
        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 2, Seed: 5));
        using var reducer = new FailingThenHangingReducer(succeeding: 1);
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), reducer,
            bucketMegabytes: 0.002);
        using var batch = TestData.Batch(scenes, [0, 1]);

        for (int attempt = 0; attempt < 2; attempt++)
        {
            var step = Task.Run(() => trainer.Step(batch));
            bool prompt = await EndsWithin(step);
            if (!prompt) await ReleaseThenWait(reducer, step);
            Assert.True(prompt, $"step {attempt + 1} waited on the hung reducer after its failure");
            Assert.Same(reducer.Failure, step.Exception!.InnerException);
        }
        Assert.Equal(0, reducer.HungCalls);
        Assert.Equal(0, trainer.CompletedSteps);
    }

    private static async Task<bool> EndsWithin(Task work) => await Task.WhenAny(work, Task.Delay(Hang)) == work;

    /// <summary>Without the abort: unblocks the hung sums and lets <paramref name="work"/> end before anything is disposed.</summary>
    private static async Task ReleaseThenWait(FailingThenHangingReducer reducer, Task work)
    {
        reducer.Dispose();
        await Task.WhenAny(work);
    }
}
