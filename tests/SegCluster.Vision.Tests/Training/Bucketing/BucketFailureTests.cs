using System.Collections.Concurrent;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Bucketing;
using SegCluster.Vision.Training.Optimizers;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Bucketing;

/// <summary>
/// A failure of this rank's own while a bucket is handed over (its gradient added into the flat buffer, or copied to the
/// host for the ring) must send nothing more: a bucket sent with part of its gradient would be applied by every peer,
/// and a bucket sent in the place of one that failed would be summed with the peers' other buckets. The failures are
/// injected by calling the bucket-ready callback as autograd does, with a gradient of the wrong size (add_ throws) or
/// a host buffer too short for the last bucket (the copy throws).
/// </summary>
public sealed class BucketFailureTests
{
    private const long BucketBytes = 2000;  // a bucket per layer or two at width 8

    [Fact]
    public void A_bucket_whose_gradient_cannot_be_added_is_not_sent_and_neither_is_anything_after_it()
    {
        using var rank = new Rank(shortHost: false);
        var bucket = rank.Layout[0];
        var gradients = rank.Gradients(bucket);
        var last = gradients[^1];
        gradients[^1] = zeros(last.numel() + 1);  // broadcasts to no parameter shape: add_ throws after the others were added

        rank.Sink.Accept(0, gradients);
        rank.Sink.Accept(1, rank.Gradients(rank.Layout[1]));
        var failure = Record.Exception(() => rank.Overlap.Finish());

        Assert.NotNull(failure);
        Assert.Empty(rank.Reducer.Sums);  // before: Finish sent every bucket, the first with a partial gradient
        Assert.Same(rank.Stream.Failure, failure);  // the stream is aborted: later sums of this trainer fail at once
    }

    [Fact]
    public void A_bucket_that_cannot_be_copied_to_the_host_is_not_replaced_by_the_next_one()
    {
        using var rank = new Rank(shortHost: true);

        rank.Sink.Accept(0, rank.Gradients(rank.Layout[0]));  // the copy of bucket 0 (the gradient's end) throws
        rank.Sink.Accept(1, rank.Gradients(rank.Layout[1]));  // bucket 1 would copy fine
        var failure = Record.Exception(() => rank.Overlap.Finish());

        Assert.NotNull(failure);
        Assert.Empty(rank.Reducer.Sums);  // before: bucket 1 went as this rank's first sum, summed with the peers' bucket 0
        Assert.Same(rank.Stream.Failure, failure);  // the stream is aborted: later sums of this trainer fail at once
    }

    /// <summary>The gradients autograd hands a bucket are released as the bucket takes them, whether it could take them or
    /// not: on CUDA autograd calls from a device thread with no DisposeScope, and nothing else disposes the wrappers, so
    /// each step's whole gradient stayed allocated until the garbage collector finalised them.</summary>
    [Fact]
    public void The_gradients_handed_to_a_bucket_are_released_as_it_takes_them()
    {
        using var rank = new Rank(shortHost: false);
        var taken = rank.Gradients(rank.Layout[0]);
        var refused = rank.Gradients(rank.Layout[1]);
        refused[^1] = zeros(refused[^1].numel() + 1);  // add_ throws

        rank.Sink.Accept(0, taken);
        rank.Sink.Accept(1, refused);

        Assert.All(taken.Concat(refused), gradient => Assert.True(gradient.IsInvalid));
    }

    /// <summary>One rank of two: a model's parameters bound to a flat gradient, in tiny buckets over a recording reducer.
    /// With <paramref name="shortHost"/> the gradient is a tensor of its own (as on a GPU) and the host buffer ends where
    /// bucket 0 starts.</summary>
    private sealed class Rank : IDisposable
    {
        private readonly SegmentationModel _model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        private readonly HostGradientBuffer _host;
        private readonly Tensor _gradient;
        private readonly Tensor[] _views;
        private readonly ParameterSlice[] _slices;

        public Rank(bool shortHost)
        {
            _slices = ParameterSlice.Layout([.. _model.parameters()], _ => 0);
            Layout = GradientBucketLayout.Build(_slices, BucketBytes);
            long length = _slices[^1].Offset + _slices[^1].Length;
            Assert.True(Layout.Length > 2);
            _host = new HostGradientBuffer(shortHost ? Layout[0].Offset : length, CPU);
            _gradient = shortHost ? zeros(length) : _host.SharedGradient!;
            _views = FlatState.Views(_gradient, _slices);
            Stream = new ReductionStream(Reducer);
            Overlap = new OverlappedGradientReduction(_model, Stream);
            Overlap.Bind(_slices, _views, [.. _slices.Select(_ => true)], _gradient, _host, BucketBytes);
        }

        public GradientBucket[] Layout { get; }
        public RecordingReducer Reducer { get; } = new();
        public ReductionStream Stream { get; }
        public OverlappedGradientReduction Overlap { get; }
        public IBucketGradientSink Sink => Overlap;

        /// <summary>A gradient of ones for each parameter of <paramref name="bucket"/>, as autograd hands them over.</summary>
        public List<Tensor> Gradients(GradientBucket bucket) =>
            [.. _slices[bucket.FirstSlice..bucket.EndSlice].Select(s => ones_like(s.Parameter))];

        public void Dispose()
        {
            Overlap.Dispose();
            Stream.Dispose();
            FlatState.DisposeAll([.. _views, _gradient, _host]);
            _model.Dispose();
        }
    }

    internal sealed class RecordingReducer : IGradientReducer
    {
        public ConcurrentQueue<int> Sums { get; } = new();
        public int Rank => 0;
        public int WorldSize => 2;
        public void Sum(Memory<float> buffer) => Sums.Enqueue(buffer.Length);
    }
}
