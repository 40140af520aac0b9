namespace SegCluster.Collectives;

/// <summary>Awaits two concurrent halves of a ring operation (send and receive) so the first failure is the one reported.</summary>
internal static class FirstFailure
{
    /// <summary>
    /// Completes when both tasks have. When one fails first, <paramref name="cancelOther"/> is cancelled so the
    /// other stops at once (an unreachable successor is reported now, not after the receive timeout), and the
    /// first failure is rethrown: the other's cancellation is a consequence, not the cause.
    /// </summary>
    public static async Task WhenBothAsync(Task first, Task second, CancellationTokenSource cancelOther)
    {
        var done = await Task.WhenAny(first, second).ConfigureAwait(false);
        if (!done.IsCompletedSuccessfully)
        {
            await cancelOther.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(first, second).ConfigureAwait(false);
            }
            catch
            {
                // Reported below through the task that failed first.
            }

            await done.ConfigureAwait(false);
        }

        await Task.WhenAll(first, second).ConfigureAwait(false);
    }
}
