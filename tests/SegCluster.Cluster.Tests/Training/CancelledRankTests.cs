using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// Ranks are cancelled in parallel (a sweep's early stop, a cancel, a re-formation): a cancelled rank closes its
/// connections, so its successor's collective fails with the peer's end of stream (TCP) or abort (gRPC), not with
/// OperationCanceledException, as its own cancel arrives. That rank was cancelled, not failed: before, it logged
/// "Rank r failed" as an error with its stack, reported a retryable failure and kept it on its worker.
/// </summary>
public sealed class CancelledRankTests
{
    private static readonly ExperimentSpec Spec = new()
    {
        Workers = 1,
        Dataset = new DatasetSpec { NumClasses = 3, Height = 16, Width = 16, TrainCount = 4, ValidationCount = 2 },
        Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "gn" },
        Training = new TrainingSpec { Steps = 3, BatchPerWorker = 2 },
    };

    private static readonly CollectiveException PeerClosed = new("data from rank 1 at http://127.0.0.1:1 did not arrive: it closed the connection " +
        "(its process exited, or its all-reduce failed)");

    [Fact]
    public void A_rank_whose_collective_fails_after_its_cancel_reports_no_failure()
    {
        using var cancel = new CancellationTokenSource();
        // The first sum of the first step: this rank's cancel has arrived, and its peer, cancelled first, closed the ring.
        var (failure, calls) = Run(cancel, TimeSpan.FromSeconds(2), ring => new CancelledThenFailing(ring, () => cancel.Cancel(), PeerClosed));

        Assert.True(cancel.IsCancellationRequested);  // the injected failure was reached
        Assert.Null(failure);  // nothing kept on the worker for the watchdog
        Assert.DoesNotContain(nameof(IExperimentGrain.ReportFailedAsync), calls);
    }

    /// <summary>The peer's close comes first and this rank's own cancel lands a moment later: still a cancel, not a
    /// failure (before, such a rank logged an error with its stack and reported a retryable failure).</summary>
    [Fact]
    public void A_rank_whose_peer_closed_the_ring_just_before_its_own_cancel_arrives_reports_no_failure()
    {
        using var cancel = new CancellationTokenSource();
        var (failure, calls) = Run(cancel, TimeSpan.FromSeconds(30), ring => new CancelledThenFailing(ring, () => cancel.CancelAfter(200), PeerClosed));

        Assert.True(cancel.IsCancellationRequested);
        Assert.Null(failure);
        Assert.DoesNotContain(nameof(IExperimentGrain.ReportFailedAsync), calls);
    }

    /// <summary>A collective failure with no cancel after it is a failure: reported once CancelArrival has passed.</summary>
    [Fact]
    public void A_rank_whose_peer_closed_the_ring_with_no_cancel_coming_reports_the_failure()
    {
        using var cancel = new CancellationTokenSource();
        var (failure, calls) = Run(cancel, TimeSpan.FromMilliseconds(100), ring => new CancelledThenFailing(ring, () => { }, PeerClosed));

        Assert.False(cancel.IsCancellationRequested);
        Assert.NotNull(failure);
        Assert.Contains("closed the connection", failure.Error);
        Assert.True(failure.Retryable);
        Assert.Contains(nameof(IExperimentGrain.ReportFailedAsync), calls);
    }

    private static (RankFailure? Failure, List<string> Calls) Run(CancellationTokenSource cancel, TimeSpan cancelArrival, Func<IGradientReducer, IGradientReducer> reducer)
    {
        using var checkpoints = new TempDirectory("segcluster-cancelled-");
        using var services = new ServiceCollection().AddMetrics().AddSingleton<SegClusterMetrics>().BuildServiceProvider();
        var metrics = services.GetRequiredService<SegClusterMetrics>();
        var experiment = DispatchProxy.Create<IExperimentGrain, RecordingExperiment>();
        var loop = new WorkerTrainingLoop(
            new TrainingAssignment("cancelled", Spec, 0, ["http://127.0.0.1:1"], "cancelled/shard", "cancelled/ring"),
            new WorkerInfo("node/0", "node", "cpu", "http://127.0.0.1:1"),
            LoopGrains.Of(experiment, Spec.Dataset.TrainCount), new CollectiveMailbox(), new CollectiveOptions(), new NodeReducerGroups(), metrics,
            new TrainingDataSources(Options.Create(new DataOptions()), metrics, NullLogger<TrainingDataSources>.Instance),
            new DeviceOccupancy(), checkpoints.FullName, SpecPathPolicy.Unrestricted, NullLogger<WorkerTrainingLoop>.Instance, NullLogger.Instance)
        {
            TrainerReducer = reducer,
            CancelArrival = cancelArrival,
        };
        var failure = loop.Run(cancel.Token);
        return (failure, ((RecordingExperiment)(object)experiment).Calls);
    }

    /// <summary>Passes every sum to <paramref name="inner"/>, except the first: <paramref name="cancel"/> runs (the run
    /// is cancelled, now or soon, or not at all), then the sum fails with <paramref name="failure"/>, as the ring's call
    /// does when the peer's connection closes under it.</summary>
    private sealed class CancelledThenFailing(IGradientReducer inner, Action cancel, Exception failure) : IGradientReducer
    {
        private int _calls;

        public int Rank => inner.Rank;

        public int WorldSize => inner.WorldSize;

        public void Sum(Memory<float> buffer)
        {
            if (Interlocked.Increment(ref _calls) > 1)
            {
                inner.Sum(buffer);
                return;
            }
            cancel();
            throw failure;
        }
    }

    /// <summary>Records each call's name and answers it as delivered.</summary>
    public class RecordingExperiment : DispatchProxy
    {
        public List<string> Calls { get; } = [];

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            lock (Calls) Calls.Add(method!.Name);
            return method.ReturnType == typeof(Task) ? Task.CompletedTask
                : method.ReturnType == typeof(Task<bool>) ? Task.FromResult(true)
                : throw new NotSupportedException(method.Name);
        }
    }
}
