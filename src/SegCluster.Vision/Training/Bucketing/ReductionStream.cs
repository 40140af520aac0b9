using System.Collections.Concurrent;
using System.Diagnostics;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// One rank's all-reduces on a dedicated thread, run strictly in the order they were issued: a communication stream, as
/// NCCL's stream is to DDP. Gradient buckets launched during backward (<see cref="Launch"/>, returns at once) and the
/// blocking sums the model issues itself (<see cref="Sum"/>: SyncBatchNorm's statistics, also in backward) queue behind
/// each other; every rank issues them from the same autograd graph, so every rank's stream runs the same sequence, which
/// is all the ring needs.
/// </summary>
public sealed class ReductionStream : IGradientReducer, IDisposable
{
    private readonly IGradientReducer _inner;
    private readonly BlockingCollection<Work> _queue = new();
    private readonly Thread _thread;
    private long _busyTicks;

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

    /// <summary>Sums <paramref name="buffer"/> after everything issued before it, and waits for it.</summary>
    public void Sum(Memory<float> buffer) => Launch(buffer).GetAwaiter().GetResult();

    /// <summary>Queues the sum of <paramref name="buffer"/> (which must not change until the task completes); the task
    /// faults with the reducer's exception.</summary>
    public Task Launch(Memory<float> buffer)
    {
        var work = new Work(buffer);
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
            long start = Stopwatch.GetTimestamp();
            Exception? failure = null;
            try
            {
                _inner.Sum(work.Buffer);
            }
            catch (Exception e)
            {
                failure = e;
            }
            Interlocked.Add(ref _busyTicks, Stopwatch.GetElapsedTime(start).Ticks);  // before the waiter resumes and reads Busy
            if (failure is null) work.Done.SetResult();
            else work.Done.SetException(failure);
        }
    }

    private sealed class Work(Memory<float> buffer)
    {
        public Memory<float> Buffer { get; } = buffer;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
