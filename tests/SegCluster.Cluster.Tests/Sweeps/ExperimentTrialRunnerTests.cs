using System.Collections.Immutable;
using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// The sweep's trial runner against a scripted coordinator: a poll that times out while the coordinator moves does not
/// fail the trial, and a trial the runner gives up on cancels its experiment, whose workers the sweep reuses at once
/// (before, a poll error failed the trial and left its experiment running on them).
/// </summary>
public sealed class ExperimentTrialRunnerTests
{
    private static readonly TrialLaunch Launch = new("sweep", 0, "sweep/t0/a1", new ExperimentSpec(), ["w/0"]);

    [Fact]
    public async Task Polls_that_time_out_while_the_coordinator_moves_do_not_fail_the_trial()
    {
        var experiment = new ScriptedExperiment
        {
            Statuses = [new TimeoutException("moving"), new TimeoutException("still moving"), Status(ExperimentState.Running), Status(ExperimentState.Completed)],
        };

        var outcome = await Runner(experiment).RunAsync(Launch, _ => true, CancellationToken.None);

        Assert.Equal(TrialState.Completed, outcome.State);
        Assert.Equal(2, outcome.Steps);
        Assert.Equal(0, experiment.Cancels);
    }

    /// <summary>ASHA on a validation metric: each validation of the experiment reaches the sweep once, in step order, after
    /// the losses of its poll; a stop answered to a validation stops the trial and cancels its experiment.</summary>
    [Fact]
    public async Task Validations_reach_the_sweep_once_each_in_step_order_and_a_stop_on_one_cancels_the_experiment()
    {
        var (first, second) = (new ValidationPoint(1, new EvaluationReport(0.25, 0.5, [], [])), new ValidationPoint(2, new EvaluationReport(0.75, 0.9, [], [])));
        ExperimentStatus[] Polls() =>
        [
            Status(ExperimentState.Running) with { Validations = [first] },
            Status(ExperimentState.Running) with { Validations = [first, second] },
            Status(ExperimentState.Completed) with { Validations = [first, second] },
        ];
        var reports = new List<(int Step, double? MeanIoU)>();

        var outcome = await Runner(new ScriptedExperiment { Statuses = Polls() })
            .RunAsync(Launch, p => { reports.Add((p.Step, p.Validation?.MeanIoU)); return true; }, CancellationToken.None);

        Assert.Equal(TrialState.Completed, outcome.State);
        Assert.Equal([(1, null), (2, null), (1, 0.25), (2, 0.75)], reports);

        var stopping = new ScriptedExperiment { Statuses = Polls() };
        var stopped = await Runner(stopping).RunAsync(Launch, p => p.Validation is not { MeanIoU: 0.75 }, CancellationToken.None);
        Assert.Equal((TrialState.Stopped, 1), (stopped.State, stopping.Cancels));
    }

    /// <summary>The outcome carries the annotation cost of the trial's training labels (PAPERS.md §2 blocks, §5 scribbles), so
    /// the sweep's results compare it with the mIoU it bought: one label per 4×4 block is 1/16 of the pixels.</summary>
    [Fact]
    public async Task The_outcome_carries_the_labelled_share_of_the_trials_training_labels()
    {
        var blocks = Launch with { Spec = new ExperimentSpec { Labels = new LabelsSpec { Mode = LabelsSpec.Block, Factor = 4 } } };

        var outcome = await Runner(new ScriptedExperiment { Statuses = [Status(ExperimentState.Completed)] }).RunAsync(blocks, _ => true, CancellationToken.None);

        Assert.Equal(TrialState.Completed, outcome.State);
        Assert.Equal(1.0 / 16, outcome.LabelledFraction);
    }

    /// <summary>A trial's attempt continuing from an earlier attempt's checkpoint may write no best.ckpt of its own: its
    /// outcome says where its best weights are as its experiment's last status did (the earlier attempt's best.ckpt), or why
    /// that file cannot be pointed at.</summary>
    [Fact]
    public async Task The_outcome_names_the_best_checkpoint_the_experiment_last_reported_or_why_it_has_none()
    {
        var earlier = new CheckpointRecord(2, "/ckpt/sweep/t0/a1/best.ckpt");
        var best = new EarlierBest("miou", 0.5, 2, earlier.Path);
        var found = new ScriptedExperiment
        {
            Statuses = [Status(ExperimentState.Running), Status(ExperimentState.Completed) with { BestCheckpoint = earlier, EarlierBest = best }],
        };
        var outcome = await Runner(found).RunAsync(Launch, _ => true, CancellationToken.None);
        Assert.Equal((TrialState.Completed, earlier, null), (outcome.State, outcome.BestCheckpoint, outcome.BestCheckpointProblem));

        var gone = new ScriptedExperiment { Statuses = [Status(ExperimentState.Completed) with { EarlierBest = best with { Problem = "it no longer exists" } }] };
        outcome = await Runner(gone).RunAsync(Launch, _ => true, CancellationToken.None);
        Assert.Equal((null, "it no longer exists"), (outcome.BestCheckpoint, outcome.BestCheckpointProblem));
    }

    [Fact]
    public async Task A_poll_that_fails_otherwise_fails_the_trial_and_cancels_its_experiment()
    {
        var experiment = new ScriptedExperiment { Statuses = [Status(ExperimentState.Running), new InvalidOperationException("storage is down")] };

        var outcome = await Runner(experiment).RunAsync(Launch, _ => true, CancellationToken.None);

        Assert.Equal(TrialState.Failed, outcome.State);
        Assert.Contains("storage is down", outcome.Error);
        Assert.Equal(1, experiment.Cancels);
    }

    [Fact]
    public async Task A_start_that_times_out_fails_the_trial_and_cancels_what_it_may_have_launched()
    {
        var experiment = new ScriptedExperiment { StartError = new TimeoutException("no answer in 30 s") };

        var outcome = await Runner(experiment).RunAsync(Launch, _ => true, CancellationToken.None);

        Assert.Equal(TrialState.Failed, outcome.State);
        Assert.Contains("no answer in 30 s", outcome.Error);
        Assert.Equal(1, experiment.Cancels);
    }

    [Fact]
    public async Task A_refused_start_launched_nothing_and_cancels_nothing()
    {
        var experiment = new ScriptedExperiment { StartError = new ArgumentException("invalid spec") };

        var outcome = await Runner(experiment).RunAsync(Launch, _ => true, CancellationToken.None);

        Assert.Equal((TrialState.Failed, "invalid spec"), (outcome.State, outcome.Error));
        Assert.Equal(0, experiment.Cancels);
    }

    /// <summary>A one-worker trial has no ring peer to time out when its node is killed: the runner sees the node dead in
    /// the membership table, fails the trial and cancels its experiment (the sweep polled a Running run forever).</summary>
    [Fact]
    public async Task A_trial_whose_workers_node_died_fails_and_cancels_its_experiment()
    {
        var experiment = new ScriptedExperiment { Statuses = [Status(ExperimentState.Running)] };
        var membership = new ScriptedMembership(("node-a", SiloStatus.Active), ("node-b", SiloStatus.Dead));

        var outcome = await Runner(experiment, membership).RunAsync(Launch with { Workers = ["node-a/0", "node-b/0", "node-b/1"] }, _ => true, CancellationToken.None);

        Assert.Equal(TrialState.Failed, outcome.State);
        Assert.Equal("worker node-b/0's node left the cluster", outcome.Error);
        Assert.Equal(["node-b/0", "node-b/1"], outcome.LostWorkers);  // the sweep leases these to no other trial
        Assert.Equal(1, experiment.Cancels);
        // The same name active again (a restarted pod) is not lost.
        var restarted = new ScriptedMembership(("node-b", SiloStatus.Dead), ("node-b", SiloStatus.Active));
        var completed = new ScriptedExperiment { Statuses = [Status(ExperimentState.Completed)] };
        Assert.Equal(TrialState.Completed, (await Runner(completed, restarted).RunAsync(Launch with { Workers = ["node-b/0"] }, _ => true, CancellationToken.None)).State);
    }

    /// <summary>A trial an earlier coordinator of the sweep launched is followed, not started again: only its progress after
    /// the step it is followed from reaches the sweep (the losses before it fill the moving mean), and the validation at that
    /// step, reported before, is not reported again.</summary>
    [Fact]
    public async Task A_followed_experiment_is_not_started_and_reports_only_its_progress_after_the_step_it_is_followed_from()
    {
        var validations = new[] { new ValidationPoint(1, new EvaluationReport(0.25, 0.5, [], [])), new ValidationPoint(2, new EvaluationReport(0.75, 0.9, [], [])) };
        var experiment = new ScriptedExperiment { Statuses = [Status(ExperimentState.Completed) with { Validations = validations }] };
        var reports = new List<(int Step, double Loss, double? MeanIoU)>();

        var outcome = await Runner(experiment).FollowAsync(Launch, 1, p => { reports.Add((p.Step, p.Loss, p.Validation?.MeanIoU)); return true; }, CancellationToken.None);

        Assert.Equal((TrialState.Completed, 2), (outcome.State, outcome.Steps));
        Assert.Equal([(2, 0.75, null), (2, 0.75, 0.75)], reports);
        Assert.Equal((0, 0), (experiment.Starts, experiment.Cancels));
        // One with no record (its start was refused after its coordinator was lost) fails: it would stay pending forever.
        var unknown = await Runner(new ScriptedExperiment { Statuses = [NoRecord] }).FollowAsync(Launch, 1, _ => true, CancellationToken.None);
        Assert.Equal(TrialState.Failed, unknown.State);
    }

    /// <summary>What a coordinator taking a sweep over is told of a trial's experiment an earlier one launched: its state; null
    /// for one with no record (never started) and for one recorded running whose worker runs something else (its process
    /// was killed, and its watchdog is about to fail it), which are launched again rather than followed; one whose ranks
    /// had just completed says so when asked again.</summary>
    [Fact]
    public async Task The_state_of_an_earlier_coordinators_experiment_is_null_when_it_has_no_record_or_its_workers_run_something_else()
    {
        var running = Status(ExperimentState.Running) with { Attempt = 1, WorkerIds = ["w/0"] };
        var ours = new WorkerRun(Launch.ExperimentId, 1, 0, Running: true);
        Task<ExperimentState?> StateOf(WorkerRun run, params ExperimentStatus[] statuses) =>
            Runner(new ScriptedExperiment { Statuses = statuses }, worker: new ScriptedWorker(run)).StateOfAsync(Launch.ExperimentId);

        Assert.Equal(ExperimentState.Running, await StateOf(ours, running));
        Assert.Null(await StateOf(WorkerRun.None, running));
        Assert.Equal(ExperimentState.Completed, await StateOf(ours with { Running = false }, running, Status(ExperimentState.Completed)));
        Assert.Equal(ExperimentState.Completed, await StateOf(WorkerRun.None, Status(ExperimentState.Completed)));
        Assert.Equal(ExperimentState.Failed, await StateOf(WorkerRun.None, Status(ExperimentState.Failed)));
        Assert.Null(await StateOf(WorkerRun.None, NoRecord));
    }

    /// <summary>What an experiment grain with no record answers.</summary>
    private static readonly ExperimentStatus NoRecord = new(Launch.ExperimentId, ExperimentState.Pending, 0, 0, double.NaN, 0, 0, 0, null, null);

    private static ExperimentTrialRunner Runner(ScriptedExperiment experiment, ScriptedMembership? membership = null, IWorkerGrain? worker = null) =>
        new(GrainFactoryOf(experiment, worker), membership ?? new ScriptedMembership(("w", SiloStatus.Active)),
            Options.Create(new SweepOptions { PollInterval = TimeSpan.FromMilliseconds(1) }), NullLogger<ExperimentTrialRunner>.Instance);

    /// <summary>Membership as a fixed snapshot of (name, status) members.</summary>
    private sealed class ScriptedMembership(params (string Name, SiloStatus Status)[] members) : IClusterMembershipService
    {
        public ClusterMembershipSnapshot CurrentSnapshot { get; } = new(
            members.Select((m, i) => new ClusterMember(SiloAddress.New(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 11000 + i), 1), m.Status, m.Name))
                .ToImmutableDictionary(m => m.SiloAddress),
            new MembershipVersion(1));

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => throw new NotSupportedException();
        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public Task<bool> TryKill(SiloAddress siloAddress) => throw new NotSupportedException();
    }

    private static ExperimentStatus Status(ExperimentState state) => new("sweep/t0/a1", state, 2, 2, 0.5, 1, 1, 1, null, null);

    /// <summary>An <see cref="IGrainFactory"/> whose every <c>GetGrain</c> is <paramref name="experiment"/>, or for a worker
    /// <paramref name="worker"/>.</summary>
    private static IGrainFactory GrainFactoryOf(IExperimentGrain experiment, IWorkerGrain? worker = null)
    {
        var factory = DispatchProxy.Create<IGrainFactory, SingleGrainFactory>();
        ((SingleGrainFactory)(object)factory).Grain = experiment;
        ((SingleGrainFactory)(object)factory).Worker = worker;
        return factory;
    }

    public class SingleGrainFactory : DispatchProxy
    {
        public object? Grain { get; set; }
        public object? Worker { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method?.Name != nameof(IGrainFactory.GetGrain) ? throw new NotSupportedException(method?.Name)
            : method.IsGenericMethod && method.GetGenericArguments()[0] == typeof(IWorkerGrain) ? Worker : Grain;
    }

    /// <summary>A worker that answers what it runs with <paramref name="run"/>.</summary>
    private sealed class ScriptedWorker(WorkerRun run) : IWorkerGrain
    {
        public Task<WorkerRun> GetRunAsync() => Task.FromResult(run);
        public Task<WorkerInfo> DescribeAsync() => throw new NotSupportedException();
        public Task RunAsync(TrainingAssignment assignment) => throw new NotSupportedException();
        public Task CancelAsync(string experimentId) => throw new NotSupportedException();
        public Task StartEvaluationAsync(EvaluationRequest request) => throw new NotSupportedException();
        public Task<EvaluationProgress> GetEvaluationAsync(string evaluationId) => throw new NotSupportedException();
        public Task CancelEvaluationAsync(string evaluationId) => throw new NotSupportedException();
    }

    /// <summary>Answers each status poll with the next scripted status or exception (the last one repeats); losses are
    /// steps 1 and 2; counts starts and cancels.</summary>
    private sealed class ScriptedExperiment : IExperimentGrain
    {
        private int _poll;

        public Exception? StartError { get; init; }
        public IReadOnlyList<object> Statuses { get; init; } = [];
        public int Cancels { get; private set; }
        public int Starts { get; private set; }

        public Task<ExperimentStatus> StartAsync(ExperimentSpec spec, IReadOnlyList<string> workerIds, bool scheduled = false)
        {
            Starts++;
            return StartError is { } e ? Task.FromException<ExperimentStatus>(e) : Task.FromResult(Status(ExperimentState.Running));
        }

        public Task<ExperimentStatus> GetStatusAsync() =>
            Statuses[Math.Min(_poll++, Statuses.Count - 1)] switch
            {
                Exception e => Task.FromException<ExperimentStatus>(e),
                var status => Task.FromResult((ExperimentStatus)status),
            };

        public Task<IReadOnlyList<CurvePoint>> GetLossesAsync(int afterStep) =>
            Task.FromResult<IReadOnlyList<CurvePoint>>([.. new[] { new CurvePoint(1, 1.0), new CurvePoint(2, 0.5) }.Where(p => p.Step > afterStep)]);

        public Task CancelAsync()
        {
            Cancels++;
            return Task.CompletedTask;
        }

        public Task ResumeAsync(IReadOnlyList<string> workerIds) => throw new NotSupportedException();
        public Task WorkersLostAsync(IReadOnlyList<string> workerIds) => throw new NotSupportedException();
        public Task ReportStepAsync(StepReport report) => throw new NotSupportedException();
        public Task<bool> ReportCheckpointAsync(int attempt, CheckpointRecord checkpoint) => throw new NotSupportedException();
        public Task ReportValidationAsync(int attempt, ValidationPoint validation, CheckpointRecord? best) => throw new NotSupportedException();
        public Task ReportCompletedAsync(int rank, int attempt, EvaluationReport? evaluation) => throw new NotSupportedException();
        public Task ReportFailedAsync(int rank, int attempt, string error, bool retryable) => throw new NotSupportedException();
        public Task RankStoppedAsync(int rank, int attempt, string reason) => throw new NotSupportedException();
    }
}
