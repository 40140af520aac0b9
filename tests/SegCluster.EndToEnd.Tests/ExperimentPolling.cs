using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;

namespace SegCluster.EndToEnd.Tests;

/// <summary>Waits on grains from outside the cluster. Polled: grains report progress by calls and there is no event
/// to await from a client; the limit is generous because CI runs this on 2 loaded cores.</summary>
internal static class ExperimentPolling
{
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    public static Task<ExperimentStatus> UntilFinalAsync(IExperimentGrain experiment) => UntilAsync(experiment, s => s.State.IsFinal());

    public static async Task<ExperimentStatus> UntilAsync(IExperimentGrain experiment, Func<ExperimentStatus, bool> done)
    {
        var status = await experiment.GetStatusAsync();
        await UntilAsync(async () => done(status = await experiment.GetStatusAsync()), $"experiment {status.ExperimentId} never reached the expected state");
        return status;
    }

    public static async Task UntilAsync(Func<Task<bool>> done, string failure)
    {
        var limit = DateTime.UtcNow + Limit;
        while (!await done())
        {
            if (DateTime.UtcNow > limit) throw new TimeoutException(failure);
            await Task.Delay(200);
        }
    }
}
