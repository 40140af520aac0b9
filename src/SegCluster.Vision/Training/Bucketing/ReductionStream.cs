using System.Collections.Concurrent;
using System.Diagnostics;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// One rank's all-reduces on a dedicated thread, run strictly in the order they were issued: a communication stream, as
/// NCCL's stream is to DDP. Gradient buckets launched during backward (<see cref="Launch"/>, returns at once) and the
/// blocking sums the model issues itself (<see cref="Sum"/>: SyncBatchNorm's statistics, also in backward) queue behind
/// each other; every rank issues them from the same autograd graph, so every rank's stream runs the same sequence, which
/// is all the ring needs.
/// After the reducer's first failure the stream is aborted, as an aborted NCCL communicator is: the ring may be broken
/// (<c>RingAllReduce</c> says so), so every queued and later sum fails at once with that same exception instead of
/// waiting out the reducer's timeout (60 s per sum with a dead peer). Only a new stream over a recovered reducer sums
/// again: the trainer is rebuilt (the cluster's next attempt re-forms the ring).
/// </summary>
public sealed class ReductionStream : IGradientReducer, IDisposable
{
    private readonly IGradientReducer _inner;
    private readonly BlockingCollection<Work> _queue = new();
    private readonly Thread _thread;
    private long _busyTicks;
    private Exception? _failure;  // the reducer's first exception; set once, read by every later sum

    public ReductionStream(IGradientReducer inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _thread = new Thread(Run) { IsBackground = true, Name = $"all-reduce stream, rank {inner.Rank}" };
        _thread.Start();
    }

    public int Rank => _inner.Rank;

    public int WorldSize => _inner.WorldSize;

    /// <summary>Time the stream spent inside the reducer since it started (overlapped with compute or not).</summary>
    public TimeSpan Busy => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    /// <summary>The reducer's first exception, after which every sum fails with it; null while the stream is healthy.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Breaks the stream as a reducer failure does: every sum not yet begun, and every later one, fails with
    /// <paramref name="reason"/> (a rank whose backward failed outside the reducer must not go on reducing buckets its peers
    /// would pair with other sums). A failure already recorded stays.</summary>
    public void Abort(Exception reason) => Interlocked.CompareExchange(ref _failure, reason ?? throw new ArgumentNullException(nameof(reason)), null);

    /// <summary>Sums <paramref name="buffer"/> after everything issued before it, and waits for it.</summary>
    public void Sum(Memory<float> buffer) => Launch(buffer).GetAwaiter().GetResult();

    /// <summary>As <see cref="Sum"/>, in fp32 whatever the inner reducer's wire (weights: a broadcast must not round them).</summary>
    public void SumFullPrecision(Memory<float> buffer) => Enqueue(new Work(buffer, FullPrecision: true)).GetAwaiter().GetResult();

    /// <summary>Queues the sum of <paramref name="buffer"/> (which must not change until the task completes); the task
    /// faults with the reducer's exception, at once when the stream has already failed.</summary>
    public Task Launch(Memory<float> buffer) => Enqueue(new Work(buffer, FullPrecision: false));

    private Task Enqueue(Work work)
    {
        if (Failure is { } failure) return Task.FromException(failure);
        _queue.Add(work);
        return work.Done.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        // A sum blocked on a dead peer ends at the reducer's own timeout; do not hold the caller that long.
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    private void Run()
    {
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            if (Failure is { } aborted)
            {
                work.Done.SetException(aborted);
                continue;
            }
            long start = Stopwatch.GetTimestamp();
            Exception? failure = null;
            try
            {
                if (work.FullPrecision) _inner.SumFullPrecision(work.Buffer);
                else _inner.Sum(work.Buffer);
            }
            catch (Exception e)
            {
                failure = e;
                Interlocked.CompareExchange(ref _failure, e, null);  // the first failure (or an abort) stays: the next item sees it
            }
            Interlocked.Add(ref _busyTicks, Stopwatch.GetElapsedTime(start).Ticks);  // before the waiter resumes and reads Busy
            if (failure is null) work.Done.SetResult();
            else work.Done.SetException(failure);
        }
    }

    private sealed record Work(Memory<float> Buffer, bool FullPrecision)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
