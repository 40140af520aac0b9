using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Grain state writes that survive a storage blip. A coordinator changes its record in memory and then acts on it after
/// the write (a re-formation cancels the old ring and asks for a gang, an ending run frees its gang, the scheduler starts
/// the next experiment): a write that fails once, as during a Redis failover, would leave it half-changed, stuck without
/// a ring or holding workers. So a failed write is tried again a few times before the error reaches the caller; an etag
/// conflict (another activation wrote) is not, as trying again cannot succeed. When the write still fails, the record in
/// memory is no longer what storage holds (and the caller is told the change failed), so the activation is deactivated:
/// the next call reads the stored record instead of acting on the change that was refused.
/// </summary>
internal static class PersistentStateWrites
{
    /// <summary>Pauses before the further tries: about 3 s in all, within a grain call's 30 s timeout.</summary>
    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];

    /// <param name="time">The clock the pauses are timed by: the grain's own (tests give it a fake one); null = the system's.</param>
    public static async Task WriteRetryingAsync<T>(this IPersistentState<T> state, IGrainBase grain, ILogger logger, string owner, TimeProvider? time = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await state.WriteStateAsync();
                return;
            }
            catch (Exception e) when (attempt < RetryDelays.Length && e is not InconsistentStateException)
            {
                logger.LogWarning("{Owner} could not write its state ({Error}); trying again in {Delay}", owner, e.Message, RetryDelays[attempt]);
                await Task.Delay(RetryDelays[attempt], time ?? TimeProvider.System);
            }
            catch (Exception e)
            {
                logger.LogError("{Owner} could not write its state ({Error}); it is deactivated so that the next call reads the stored record", owner, e.Message);
                var failure = new GrainStateNotWrittenException(owner, e);
                grain.GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, failure.Message));
                throw failure;
            }
        }
    }
}

/// <summary>A grain's record could not be written, even after the retries: the change is not made, and the grain's
/// activation is being replaced by one that reads the stored record.</summary>
[GenerateSerializer, Alias("SegCluster.GrainStateNotWrittenException")]
public sealed class GrainStateNotWrittenException(string owner, Exception inner)
    : Exception($"{owner} could not write its state ({inner.Message}); the change is not made", inner);
