using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Spectral;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Scheduling;
using SegCluster.Cluster.Tests.Sweeps;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>
/// Every persisted grain state type, written through the cluster's real Redis grain storage (real redis-server) and
/// read back equal (and through the file storage of a node with Node:StateDirectory), including lists made by collection expressions (compiler-generated types the provider's default
/// JSON serializer could not read back), and a record written by that default before still reads.
/// </summary>
public sealed class GrainStateStorageTests
{
    private static readonly JsonSerializerOptions Comparable = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    [Fact]
    public void The_samples_cover_every_persisted_state_type()
    {
        // A new [PersistentState] without a sample here fails this test rather than going untested.
        var persisted = typeof(ExperimentGrain).Assembly.GetTypes()
            .SelectMany(t => t.GetConstructors())
            .SelectMany(c => c.GetParameters())
            .Where(p => p.GetCustomAttribute<PersistentStateAttribute>() is not null)
            .Select(p => (Storage: p.GetCustomAttribute<PersistentStateAttribute>()!.StorageName ?? "", Type: p.ParameterType.GetGenericArguments().Single()))
            .ToHashSet();
        Assert.Equal(persisted.OrderBy(p => p.Type.Name).ToList(), Samples().Select(s => (s.Storage, Type: s.State.GetType())).OrderBy(p => p.Type.Name).ToList());
    }

    [RequiresRedisFact]
    public async Task Every_persisted_state_round_trips_through_redis_storage()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StartAsync(redis);
        await AssertEveryStateRoundTripsAsync(cluster.Silos[0].ServiceProvider);
    }

    [Fact]
    public async Task Every_persisted_state_round_trips_through_file_storage()
    {
        using var folder = new TempDirectory("segcluster-state-");
        await using var cluster = await StartAsync(silo => silo.AddSegClusterFileGrainStorage(folder.FullName));
        await AssertEveryStateRoundTripsAsync(cluster.Silos[0].ServiceProvider);
    }

    private static async Task AssertEveryStateRoundTripsAsync(IServiceProvider services)
    {
        var index = 0;
        foreach (var (storage, state) in Samples())
        {
            var provider = services.GetRequiredKeyedService<IGrainStorage>(storage);
            var read = await RoundTripAsync(provider, GrainId.Create("state-test", $"sample-{index++}"), state);
            Assert.Equal(JsonSerializer.Serialize(state, state.GetType(), Comparable), JsonSerializer.Serialize(read, state.GetType(), Comparable));
        }
    }

    [RequiresRedisFact]
    public async Task A_record_written_by_the_former_json_storage_is_still_read()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await StartAsync(redis, silo =>
            silo.AddRedisGrainStorage("former", o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis.Address)));
        var services = cluster.Silos[0].ServiceProvider;
        var grain = GrainId.Create("experiment", "written-before");
        var before = new ExperimentRecord
        {
            Spec = new ExperimentSpec { Name = "before", Workers = 2 }, Workers = ["n1/0", "n2/0"], State = ExperimentState.Running,
            Attempt = 2, Scheduled = true, Checkpoint = new CheckpointRecord(6, "/ckpt/step-000006.ckpt"),
        };

        await services.GetRequiredKeyedService<IGrainStorage>("former").WriteStateAsync("experiment", grain, new GrainState<ExperimentRecord>(before));
        var read = new GrainState<ExperimentRecord>();
        await services.GetRequiredKeyedService<IGrainStorage>(ClusterStorage.Experiments).ReadStateAsync("experiment", grain, read);

        Assert.True(read.RecordExists);
        Assert.Equal(JsonSerializer.Serialize(before, Comparable), JsonSerializer.Serialize(read.State, Comparable));

        // Why the storage changed: the former one cannot read back its own record holding collection-expression lists.
        var withCollectionExpressions = (ExperimentRecord)Samples().First().State;
        var other = GrainId.Create("experiment", "collection-expressions");
        var former = services.GetRequiredKeyedService<IGrainStorage>("former");
        await former.WriteStateAsync("experiment", other, new GrainState<ExperimentRecord>(withCollectionExpressions));
        await Assert.ThrowsAnyAsync<Exception>(() => former.ReadStateAsync("experiment", other, new GrainState<ExperimentRecord>()));
    }

    private static Task<InProcessTestCluster> StartAsync(RedisServer redis, Action<ISiloBuilder>? more = null) => StartAsync(silo =>
    {
        silo.AddSegClusterRedisGrainStorage(ConfigurationOptions.Parse(redis.Address));
        more?.Invoke(silo);
    });

    private static async Task<InProcessTestCluster> StartAsync(Action<ISiloBuilder> storage)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = "segcluster-state-tests";
        builder.ConfigureSilo((_, silo) => storage(silo));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static Task<object> RoundTripAsync(IGrainStorage storage, GrainId grain, object state) =>
        (Task<object>)typeof(GrainStateStorageTests).GetMethod(nameof(RoundTripTypedAsync), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(state.GetType()).Invoke(null, [storage, grain, state])!;

    private static async Task<object> RoundTripTypedAsync<T>(IGrainStorage storage, GrainId grain, T state) where T : class, new()
    {
        await storage.WriteStateAsync("state", grain, new GrainState<T>(state));
        var read = new GrainState<T>();
        await storage.ReadStateAsync("state", grain, read);
        Assert.True(read.RecordExists, $"{typeof(T).Name} was not found after writing it");
        return read.State!;
    }

    /// <summary>One populated instance per persisted state type, with collection-expression lists where the records
    /// have IReadOnlyList members (what the grains build with `[.. x]`).</summary>
    private static IEnumerable<(string Storage, object State)> Samples()
    {
        IReadOnlyList<double> classIoU = [.. Enumerable.Range(1, 3).Select(i => i / 4.0)];
        IReadOnlyList<string> classNames = ["road", "car", "sky"];
        Assert.StartsWith("<>z__", classIoU.GetType().Name);  // the compiler-generated types this test is about
        Assert.StartsWith("<>z__", classNames.GetType().Name);
        var evaluation = new EvaluationReport(0.5, 0.9, classIoU, classNames);
        var spec = new ExperimentSpec { Name = "stored", Workers = 2, Seed = 5, Training = new TrainingSpec { Steps = 12, CheckpointEvery = 4 } };
        var worker = new WorkerInfo("n1/0", "n1", "cpu", "http://127.0.0.1:5001");
        var trial = new TrialResult
        {
            Index = 1, Name = "sweep-t001", Parameters = [new AxisValue("seed", "1")], State = TrialState.Completed, Attempt = 1,
            ExperimentId = "sweep/sweep-t001/a1", Steps = 12, Metric = 0.5, MeanIoU = 0.5, FinalLoss = double.NaN,
            Curve = [.. Enumerable.Range(1, 3).Select(s => new CurvePoint(s, 1.0 / s))], Rungs = [new CurvePoint(4, 0.4)],
            StartedAt = new DateTime(2026, 11, 23, 18, 0, 0, DateTimeKind.Utc), FinishedAt = new DateTime(2026, 11, 23, 18, 5, 0, DateTimeKind.Utc),
            Workers = [.. new[] { "n1/0", "n1/1" }],
            ResumedFromStep = 4, ResumedFromPath = "/ckpt/sweep/sweep-t001/a0/step-000004.ckpt",
            BestCheckpoint = new CheckpointRecord(4, "/ckpt/sweep/sweep-t001/a0/best.ckpt"),
        };

        yield return (ClusterStorage.Experiments, new ExperimentRecord
        {
            Spec = spec, Workers = ["n1/0", "n2/0"], State = ExperimentState.Completed, Evaluation = evaluation, Attempt = 2, Scheduled = true,
            Checkpoint = new CheckpointRecord(12, "/ckpt/step-000012.ckpt"), Recoveries = 1, StepsRedone = 2,
            Validations = [new ValidationPoint(4, evaluation), new ValidationPoint(8, evaluation with { MeanIoU = 0.6 })],
            BestCheckpoint = new CheckpointRecord(8, "/ckpt/best.ckpt"),
            EarlierBest = new EarlierBest(TrainingSpec.MeanIoUMetric, 0.4, 2, "/ckpt/run1/best.ckpt"),
            CompletedRanks = [.. new[] { 1, 0 }], Images = 96, TrainingTime = TimeSpan.FromSeconds(12.5),
        });
        yield return (ClusterStorage.Scheduler, new SchedulerRecord
        {
            Workers = { [worker.WorkerId] = worker, ["n1/1"] = worker with { WorkerId = "n1/1" } },
            Allocations = { ["n1/0"] = "running" },
            Queue = [new QueuedExperiment("waiting", spec, 2, "cpu"), new QueuedExperiment("re-forming", null, 2, "cpu")],
        });
        yield return (ClusterStorage.Sweeps, new SweepRecord
        {
            Spec = new SweepSpec
            {
                Name = "sweep", TrialSteps = 12, Base = spec,
                Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1"] }],
            },
            Workers = ["n1/0", "n1/1"], State = SweepState.Running, Trials = [trial, trial with { Index = 0, State = TrialState.Running }], Resumes = 1,
        });
        yield return (ClusterStorage.Sweeps, new SweepTrialRecord { Result = trial });
        yield return (ClusterStorage.Spectral, new SpectralShardRecord
        {
            Result = new SpectralShardResult { Shard = 3, Images = 40, Statistics = "{\"bands\":[1,2]}", ComputedBy = "n2", Seconds = 1.5 },
        });
    }
}
