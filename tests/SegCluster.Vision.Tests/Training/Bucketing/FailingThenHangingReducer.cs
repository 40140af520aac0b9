using SegCluster.Vision.Training;

namespace SegCluster.Vision.Tests.Training.Bucketing;

/// <summary>
/// Rank 0 of two whose peer dies mid-step: the first <c>succeeding</c> sums return (the buffer unchanged, as if the peer
/// sent zeros), the next throws <see cref="Failure"/>, and every sum after it blocks until <see cref="Dispose"/>, as a
/// ring call to a dead peer blocks until its timeout.
/// </summary>
internal sealed class FailingThenHangingReducer(int succeeding) : IGradientReducer, IDisposable
{
    private readonly ManualResetEventSlim _released = new();
    private int _calls;

    public IOException Failure { get; } = new("peer 1 is gone");

    /// <summary>Sums that reached the reducer after the failure (each blocked).</summary>
    public int HungCalls => Math.Max(0, Volatile.Read(ref _calls) - succeeding - 1);

    public int Rank => 0;

    public int WorldSize => 2;

    public void Sum(Memory<float> buffer)
    {
        int call = Interlocked.Increment(ref _calls);
        if (call <= succeeding) return;
        if (call == succeeding + 1) throw Failure;
        _released.Wait();
    }

    /// <summary>Lets every blocked sum return, so no thread outlives the test.</summary>
    public void Dispose() => _released.Set();
}
