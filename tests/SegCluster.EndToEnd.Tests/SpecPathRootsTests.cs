using System.Net;
using System.Text;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Spectral;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A real embedded node with Node:PathRoots set refuses every way a caller can name a file outside them: a spec on the
/// HTTP API (one text whether the path exists or not), a sweep whose axis sets one, a spectral shard, an evaluation, and
/// an assignment handed to a worker directly (its rank fails with the refusal, not retried).
/// </summary>
public sealed class SpecPathRootsTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("segcluster-path-roots-node-");
    private string _data = null!, _checkpoints = null!, _outside = null!;
    private Cli.Embedded.EmbeddedCluster _node = null!;

    public async Task InitializeAsync()
    {
        _data = Directory.CreateDirectory(Path.Combine(_temp.FullName, "data")).FullName;
        _checkpoints = Directory.CreateDirectory(Path.Combine(_temp.FullName, "checkpoints")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_temp.FullName, "outside")).FullName;
        File.WriteAllText(Path.Combine(_outside, "weights.ckpt"), "not for this submitter");
        _node = await EmbeddedTestNode.StartAsync(workers: 1, new DirectoryInfo(_checkpoints), new Dictionary<string, string?> { ["Node:PathRoots:0"] = _data });
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _temp.Dispose();
    }

    private string Refused(string field, string path) =>
        $"{field}: '{path}' is outside this node's path roots (Node:PathRoots: {_data}; Node:CheckpointDirectory: {_checkpoints}); " +
        "put it under one of them, or add a root.";

    [Fact]
    public async Task The_api_refuses_a_dataset_outside_the_roots_alike_whether_it_exists_or_not()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_node.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        var bodies = new List<string>();
        foreach (var path in new[] { _outside, Path.Combine(_temp.FullName, "missing") })
        {
            var spec = $$"""{ "workers": 1, "dataset": { "kind": "files", "path": "{{path}}" } }""";
            using var response = await http.PostAsync("/api/experiments/outside", new StringContent(spec, Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(Refused("dataset.path", path), body);
            bodies.Add(body.Replace(path, "PATH"));
        }
        Assert.Equal(bodies[0], bodies[1]);
    }

    [Fact]
    public async Task A_sweep_a_spectral_shard_and_an_evaluation_naming_a_path_outside_the_roots_are_refused()
    {
        var weights = Path.Combine(_outside, "weights.ckpt");
        var sweep = new SweepSpec
        {
            Base = new ExperimentSpec { Dataset = new DatasetSpec { TrainCount = 8, ValidationCount = 2, Height = 32, Width = 32 } },
            TrialSteps = 2,
            Axes = [new SweepAxis { Path = "training.load_from", Kind = SweepAxis.Grid, Values = [Path.Combine(_data, "a.ckpt"), weights] }],
        };
        var refusal = await Assert.ThrowsAsync<ArgumentException>(() => _node.Grains.GetGrain<ISweepGrain>("outside").StartAsync(sweep, _node.WorkerIds));
        Assert.Equal($"Sweep 'outside' has an invalid spec:\n  - {Refused("training.load_from", weights)}", refusal.Message);

        var shard = new SpectralShardRequest { Spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = _outside } }, Images = 1 };
        refusal = await Assert.ThrowsAsync<ArgumentException>(() => _node.Grains.GetGrain<ISpectralShardGrain>(shard.GrainKey).AnalyseAsync(shard));
        Assert.Equal(Refused("dataset.path", _outside), refusal.Message);

        var evaluation = new EvaluationRequest("outside", weights, _outside, "val", [0], InferenceSettings.Whole);
        refusal = await Assert.ThrowsAsync<ArgumentException>(() => _node.Grains.GetGrain<IWorkerGrain>(_node.WorkerIds[0]).StartEvaluationAsync(evaluation));
        Assert.Equal($"{Refused("--checkpoint", weights)} {Refused("--dataset", _outside)}", refusal.Message);
    }

    /// <summary>An assignment reaches a worker from any caller of the grains, past the coordinator's checks: the rank
    /// refuses it itself, before it opens anything, and says the failure is not worth a retry.</summary>
    [Fact]
    public async Task A_rank_given_a_path_outside_the_roots_fails_with_the_refusal_not_retried()
    {
        var weights = Path.Combine(_outside, "weights.ckpt");
        var spec = new ExperimentSpec
        {
            Workers = 1,
            Dataset = new DatasetSpec { TrainCount = 8, ValidationCount = 2, Height = 32, Width = 32 },
            Training = new TrainingSpec { Steps = 2, BatchPerWorker = 2, LoadFrom = weights },
        };
        var worker = _node.Grains.GetGrain<IWorkerGrain>(_node.WorkerIds[0]);
        await worker.RunAsync(new TrainingAssignment("stray", spec, 0, ["unused"], "", "stray#1"));
        RankFailure? failure = null;
        await ExperimentPolling.UntilAsync(async () => (failure = (await worker.GetRunAsync()).Failure) is not null, "the rank never failed");
        Assert.Equal(new RankFailure(Refused("training.load_from", weights), Retryable: false), failure);
    }
}
