using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells the test when code starts waiting on it (a <c>Task.Delay</c> or a timer
/// created on it), and for how long. A wait is due relative to the clock when it is created, so advancing the clock
/// before the code under test has created its wait is lost on it: the test advances after <see cref="NextWaitAsync"/>.
/// </summary>
internal sealed class WaitWatchingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero))
{
    private readonly Channel<TimeSpan> _waits = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _waits.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>The due time of the next wait created on this clock (those created earlier and not yet read first).</summary>
    public async Task<TimeSpan> NextWaitAsync() => await _waits.Reader.ReadAsync();
}
