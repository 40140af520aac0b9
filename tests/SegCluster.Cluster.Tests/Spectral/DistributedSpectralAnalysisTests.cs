using System.Collections.Concurrent;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Spectral;
using SegCluster.Cluster.Spectral;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>
/// Shards analysed by spectral shard grains on different silos merge into exactly the single-process statistics (counts
/// equal, energies to float tolerance); a failed shard is retried without counting any shard twice; a repeated analysis
/// answers from the shards' records.
/// </summary>
public sealed class DistributedSpectralAnalysisTests
{
    // Energies are float64 sums in another order; CE sums are float32 per batch, and shards batch other images together.
    private const double Tolerance = 1e-6;

    /// <summary>Fails a wait that hangs; not a bound on how fast anything must be.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Shards_on_different_silos_merge_into_the_single_process_statistics(int shards)
    {
        var analyser = new CountingShardAnalyser();
        await using var cluster = await SpectralShardClusters.StartAsync(silos: 3, analyser);
        var outcome = await new DistributedSpectralAnalysis(cluster.Client).RunAsync(SpectralShardClusters.Spec, images: 24, shards, batchSize: 8);

        Assert.Empty(outcome.Statistics.Differences(SpectralShardClusters.SingleProcess(24), Tolerance));
        Assert.Equal(shards, outcome.Shards.Select(s => s.ComputedBy).Distinct().Count());   // one silo per shard
        Assert.Equal(Enumerable.Range(0, shards), outcome.Shards.Select(s => s.Shard));
        Assert.All(analyser.Computations.Values, c => Assert.Equal(1, c));
        Assert.Equal(0, outcome.Retries);
    }

    [Fact]
    public async Task A_shard_that_fails_is_retried_and_no_shard_is_counted_twice()
    {
        var analyser = new CountingShardAnalyser { FailFirst = [1] };
        await using var cluster = await SpectralShardClusters.StartAsync(silos: 2, analyser);
        var analysis = new DistributedSpectralAnalysis(cluster.Client);
        var outcome = await analysis.RunAsync(SpectralShardClusters.Spec, images: 24, shards: 3, batchSize: 8);

        Assert.Equal(1, outcome.Retries);
        Assert.Equal(2, analyser.Computations[1]);
        Assert.Equal(1, analyser.Computations[0]);
        Assert.Equal(1, analyser.Computations[2]);
        Assert.Empty(outcome.Statistics.Differences(SpectralShardClusters.SingleProcess(24), Tolerance));

        // The same analysis again: every shard answers from its record, nothing is computed.
        var again = await analysis.RunAsync(SpectralShardClusters.Spec, images: 24, shards: 3, batchSize: 8);
        Assert.All(again.Shards, s => Assert.True(s.FromRecord));
        Assert.Equal(4, analyser.Computations.Values.Sum());
        Assert.Empty(again.Statistics.Differences(outcome.Statistics, 0));
    }

    /// <summary>A shard that computes for longer than a grain call may wait: each call answers "still computing" within
    /// AnswerWithin and the analysis asks again, so it completes with no failed attempt and one computation. The
    /// computations here end only once every shard's caller has been told "still computing" twice. Before, the one call
    /// waited for the computation (it would never answer here), timed out, was retried behind the running computation,
    /// and the analysis failed after its attempts.</summary>
    [Fact]
    public async Task A_shard_that_outlasts_the_call_timeout_completes_without_a_retry()
    {
        using var gate = new ManualResetEventSlim(false);
        var analyser = new CountingShardAnalyser { Gate = gate };
        var stillComputing = new StillComputingAnswers(shards: 2, each: 2);
        // Margins for a loaded CI machine: a call answers within 250 ms plus activation and scheduling (3 s allowed).
        await using var cluster = await SpectralShardClusters.StartAsync(silos: 1, analyser,
            callTimeout: TimeSpan.FromSeconds(3), answerWithin: TimeSpan.FromMilliseconds(250), filter: stillComputing);

        var running = new DistributedSpectralAnalysis(cluster.Client, maxAttempts: 1).RunAsync(SpectralShardClusters.Spec, images: 24, shards: 2, batchSize: 8);
        try
        {
            await Task.WhenAny(stillComputing.Reached.Task, running).WaitAsync(HangGuard);  // an analysis that failed first says why below
        }
        finally
        {
            gate.Set();
        }
        var outcome = await running.WaitAsync(HangGuard);

        Assert.True(stillComputing.Reached.Task.IsCompleted, "the analysis ended before each shard was asked again");
        Assert.Equal(0, outcome.Retries);
        Assert.All(analyser.Computations.Values, c => Assert.Equal(1, c));
        Assert.Empty(outcome.Statistics.Differences(SpectralShardClusters.SingleProcess(24), Tolerance));
    }

    [Fact]
    public async Task A_request_with_more_images_than_the_dataset_names_the_field()
    {
        await using var cluster = await SpectralShardClusters.StartAsync(silos: 1, new CountingShardAnalyser());
        var analysis = new DistributedSpectralAnalysis(cluster.Client);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => analysis.RunAsync(SpectralShardClusters.Spec, images: 25, shards: 2, batchSize: 8));
        Assert.Contains("images = 25", error.Message);
        error = await Assert.ThrowsAsync<ArgumentException>(() => analysis.RunAsync(SpectralShardClusters.Spec, images: 4, shards: 5, batchSize: 8));
        Assert.Contains("shards = 5", error.Message);
    }

    /// <summary>Counts, per shard, the grains' "still computing" answers (null results) and completes <see cref="Reached"/>
    /// once shards 0..shards-1 have each had <c>each</c> of them.</summary>
    private sealed class StillComputingAnswers(int shards, int each) : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<int, int> _answers = new();

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod?.Name != nameof(ISpectralShardGrain.AnalyseAsync) || context.Result is not null) return;
            var shard = ((SpectralShardRequest)context.Request.GetArgument(0)!).Shard;
            _answers.AddOrUpdate(shard, 1, (_, n) => n + 1);
            if (Enumerable.Range(0, shards).All(s => _answers.GetValueOrDefault(s) >= each)) Reached.TrySetResult();
        }
    }
}
