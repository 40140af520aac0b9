using System.Diagnostics;
using SegCluster.Vision.Training.Bucketing;

namespace SegCluster.Vision.Training;

/// <summary>Where one step's time and bytes went, gathered as it runs, for its <see cref="StepResult"/>.</summary>
internal sealed class StepTimings
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ReductionStream? _stream;
    private readonly TimeSpan _busyBefore;

    public StepTimings(ReductionStream? stream)
    {
        _stream = stream;
        _busyBefore = stream?.Busy ?? TimeSpan.Zero;
    }

    public TimeSpan ForwardBackward { get; private set; }
    public TimeSpan AllReduce { get; private set; }
    public long AllReduceBytes { get; private set; }
    public TimeSpan AllReduceBusy { get; private set; }
    public int Buckets { get; private set; }
    public int OverlappedBuckets { get; private set; }
    public TimeSpan Optimizer { get; set; }  // zero when the step was skipped

    public void AddAllReduce(TimeSpan time, long bytes)
    {
        AllReduce += time;
        AllReduceBytes += bytes;
    }

    /// <summary>Forward and backward: the time since the step began, less the all-reduces inside it.</summary>
    public void EndForwardBackward() => ForwardBackward = _clock.Elapsed - AllReduce;

    /// <summary>The reducer's busy time over the step (overlapped with backward or not; without a stream, the waits).</summary>
    public void EndReduction(int buckets, int overlapped)
    {
        Buckets = buckets;
        OverlappedBuckets = overlapped;
        AllReduceBusy = _stream is null ? AllReduce : _stream.Busy - _busyBefore;
    }
}
