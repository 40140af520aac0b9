using Orleans.Serialization.Invocation;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>
/// A silo call filter that loses every rank's failure report (the rank's call returns as if delivered, as when the
/// coordinator activation that took it died), and tells the test what the coordinator asked the scheduler first: to
/// re-form its ring (ReformAsync), or to release its workers because the run ended (ReleaseAsync).
/// </summary>
internal sealed class LostFailureReports : IIncomingGrainCallFilter
{
    private int _lost;

    public int Lost => Volatile.Read(ref _lost);

    public TaskCompletionSource<string> FirstSchedulerCall { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Invoke(IIncomingGrainCallContext context)
    {
        switch (context.MethodName)
        {
            case nameof(IExperimentGrain.ReportFailedAsync):
                Interlocked.Increment(ref _lost);
                context.Response = Response.Completed;
                return Task.CompletedTask;
            case nameof(ISchedulerGrain.ReformAsync) or nameof(ISchedulerGrain.ReleaseAsync):
                FirstSchedulerCall.TrySetResult(context.MethodName);
                break;
        }
        return context.Invoke();
    }
}
