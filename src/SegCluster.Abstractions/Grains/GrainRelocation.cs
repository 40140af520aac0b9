namespace SegCluster.Abstractions.Grains;

/// <summary>
/// Failures of a call to a coordinator grain (an experiment) whose node was lost while Orleans activates it elsewhere
/// from storage: the call timed out or was rejected. A poller keeps polling through them instead of giving up.
/// </summary>
public static class GrainRelocation
{
    public static bool InProgress(Exception failure) => failure is TimeoutException or OrleansMessageRejectionException;
}
