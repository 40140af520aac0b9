using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// The real scheduler grain over scripted experiments: a worker is never handed to two experiments, whether two
/// submissions of one id race, or an experiment's start times out after its ring launched (the gang must stay
/// allocated until the experiment ends), while a start the experiment refused, or one that timed out without the
/// experiment ever starting, gives its gang back. The workers of a gang are probed before it is handed out (a node just
/// killed may still be listed as active): all at once, and a busy worker still answers.
/// </summary>
public sealed class SchedulerGrainTests : IAsyncLifetime
{
    private readonly ExperimentStarts _starts = new();
    private readonly WorkerProbes _probes = new();
    private InProcessTestCluster _cluster = null!;
    private ISchedulerGrain _scheduler = null!;
    private string _node = "";

    public async Task InitializeAsync()
    {
        _cluster = await SchedulerClusters.StartAsync(_starts, probes: _probes);
        _scheduler = _cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        _node = SchedulerClusters.NodeId(_cluster.Silos[0]);
    }

    public async Task DisposeAsync()
    {
        _starts.ReleaseAll();
        _probes.ReleaseRuns();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Concurrent_submissions_of_one_id_allocate_one_gang_and_refuse_the_other()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 4));
        _starts.Hold("twice");  // the winner stays inside its start while the other submission arrives

        var submissions = new[] { _scheduler.SubmitAsync("twice", Spec(workers: 2)), _scheduler.SubmitAsync("twice", Spec(workers: 2)) };
        await _starts.Reached("twice").WaitAsync(TimeSpan.FromSeconds(30));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.WhenAny(submissions).Unwrap());
        _starts.ReleaseAll();
        var ticket = await submissions.Single(s => !s.IsFaulted);

        Assert.Contains("'twice' is already running, queued or being submitted", refused.Message);
        Assert.Equal(2, ticket.Workers.Count);
        var holders = await SchedulerClusters.AllocationsAsync(_scheduler);
        Assert.Equal(ticket.Workers.Order(), holders.Where(h => h.Value == "twice").Select(h => h.Key).Order());
        Assert.Equal(2, holders.Values.Count(v => v is null));
        Assert.Single(_starts.Launches);
    }

    /// <summary>Before, with the cluster busy the id was queued ("queued at position 1"), `train --cluster` followed the
    /// old run's result, and its turn failed "already started" and freed the gang without a word.</summary>
    [Fact]
    public async Task An_id_that_already_ran_is_refused_while_the_cluster_is_busy()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 1));
        await _scheduler.SubmitAsync("done", Spec(workers: 1));
        _starts.End("done");
        await _scheduler.ReleaseAsync("done");
        await _scheduler.SubmitAsync("busy", Spec(workers: 1));  // holds the only worker

        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => _scheduler.SubmitAsync("done", Spec(workers: 1)));

        Assert.Contains("'done' was already used (state completed)", again.Message);
        Assert.Empty((await _scheduler.GetSnapshotAsync()).Queue);
        Assert.Equal(["done", "busy"], _starts.Launches.Select(l => l.ExperimentId));
    }

    [Fact]
    public async Task A_start_that_times_out_after_launching_keeps_its_gang_from_the_next_experiment()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        _starts.TimeOut("slow");

        await Assert.ThrowsAsync<TimeoutException>(() => _scheduler.SubmitAsync("slow", Spec(workers: 2)));
        var next = await _scheduler.SubmitAsync("next", Spec(workers: 2));
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => _scheduler.SubmitAsync("slow", Spec(workers: 2)));

        // "slow" runs on both workers: "next" waits for them instead of being launched on them too.
        Assert.Equal((false, 1), (next.Started, next.QueuePosition));
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("slow", holder));
        Assert.Contains("already running", again.Message);
        Assert.Equal(new[] { "slow" }, _starts.Launches.Select(l => l.ExperimentId));
    }

    [Fact]
    public async Task A_queued_start_that_times_out_after_launching_keeps_its_gang()
    {
        var queued = await _scheduler.SubmitAsync("queued", Spec(workers: 2));
        Assert.Equal(1, queued.QueuePosition);
        _starts.TimeOut("queued");

        // Registering workers starts the queue; the start times out inside this call.
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        var next = await _scheduler.SubmitAsync("next", Spec(workers: 2));

        Assert.False(next.Started);
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("queued", holder));
    }

    /// <summary>The experiment's start checks the spec's files (the dataset folder, a checkpoint) before it launches, and its
    /// record says Pending until then: before, a start whose preflight outlasted the call's timeout read as never begun, the
    /// gang went to the next experiment, and the first then launched on the same workers.</summary>
    [Fact]
    public async Task A_queued_start_that_times_out_in_its_preflight_keeps_its_gang()
    {
        await _scheduler.SubmitAsync("checking", Spec(workers: 2));
        _starts.TimeOutInPreflight("checking");

        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));  // starts the queue: the start times out here
        var next = await _scheduler.SubmitAsync("next", Spec(workers: 2));

        Assert.Equal((false, 1), (next.Started, next.QueuePosition));
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("checking", holder));
        Assert.Empty(_starts.Launches);
    }

    /// <summary>A gang kept for a start still in its preflight would be held for good if that start then stopped without
    /// launching or recording a refusal (its node died, its record could not be written): the experiment says Pending and
    /// no longer starting, calls nothing, and a cancel does not know the id. A check frees it.</summary>
    [Fact]
    public async Task A_check_frees_the_gang_of_a_start_that_stopped_in_its_preflight()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        _starts.TimeOutInPreflight("stopped");
        await Assert.ThrowsAsync<TimeoutException>(() => _scheduler.SubmitAsync("stopped", Spec(workers: 2)));
        Assert.Equal(1, (await _scheduler.SubmitAsync("next", Spec(workers: 2))).QueuePosition);

        await _scheduler.CheckAsync();  // still starting
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("stopped", holder));
        _starts.StopStarting("stopped");
        await _scheduler.CheckAsync();

        await _starts.Reached("next").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("next", holder));
    }

    /// <summary>Until the experiment takes a start call up it says Pending and not starting, as one that stopped does: the
    /// check must not free the gang of a start the scheduler is still calling, from a submission or from the queue.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_check_keeps_the_gang_of_a_start_on_its_way_to_the_experiment(bool fromQueue)
    {
        _starts.Gate("arriving");
        Task placing;
        if (fromQueue)
        {
            await _scheduler.SubmitAsync("arriving", Spec(workers: 2));
            placing = _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));  // starts the queue
        }
        else
        {
            await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
            placing = _scheduler.SubmitAsync("arriving", Spec(workers: 2));
        }
        await _starts.Arrived("arriving").WaitAsync(TimeSpan.FromSeconds(30));

        await _scheduler.CheckAsync();
        var holders = await SchedulerClusters.AllocationsAsync(_scheduler);
        _starts.Open("arriving");
        await placing;

        Assert.All(holders.Values, holder => Assert.Equal("arriving", holder));
        Assert.Equal("arriving", Assert.Single(_starts.Launches).ExperimentId);
    }

    /// <summary>A check returns the workers a running experiment holds outside the ring it reports (its give-back of a stale
    /// resume's gang was lost), but its answer is as old as its question: a ring that broke and was re-formed on other
    /// workers while the check asked keeps its new gang, which the old answer does not name.</summary>
    [Fact]
    public async Task A_check_keeps_a_gang_re_formed_while_it_asked_about_the_old_ring()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 4));
        await _scheduler.SubmitAsync("first", Spec(workers: 2));  // node/0 and node/1, then free again
        await _scheduler.SubmitAsync("ring", Spec(workers: 2));   // node/2 and node/3
        await _scheduler.ReleaseAsync("first");
        _starts.ReportRing("ring");
        _starts.GateStatus("ring");

        var check = _scheduler.CheckAsync();
        await _starts.StatusAsked("ring").WaitAsync(TimeSpan.FromSeconds(30));
        var gang = await _scheduler.ReformAsync("ring", workers: 2, "cpu");  // the ring broke meanwhile
        _starts.OpenStatus("ring");
        await check;

        Assert.Equal([WorkerIds.For(_node, 0), WorkerIds.For(_node, 1)], gang);
        var holders = await SchedulerClusters.AllocationsAsync(_scheduler);
        Assert.Equal(gang, holders.Where(h => h.Value == "ring").Select(h => h.Key).Order());
    }

    [Fact]
    public async Task A_start_that_times_out_before_the_experiment_began_gives_the_gang_back()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        _starts.Drop("lost");

        await Assert.ThrowsAsync<TimeoutException>(() => _scheduler.SubmitAsync("lost", Spec(workers: 2)));
        var next = await _scheduler.SubmitAsync("next", Spec(workers: 2));

        // "lost" says Pending: nothing runs on its gang, so "next" gets it instead of waiting for a cancel.
        Assert.True(next.Started);
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("next", holder));
        Assert.Equal(new[] { "next" }, _starts.Launches.Select(l => l.ExperimentId));
    }

    [Fact]
    public async Task A_start_the_experiment_refuses_gives_the_gang_back()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        _starts.Refuse("used", "it was already started");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _scheduler.SubmitAsync("used", Spec(workers: 2)));
        var next = await _scheduler.SubmitAsync("next", Spec(workers: 2));

        Assert.Contains("it was already started", refused.Message);
        Assert.True(next.Started);
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("next", holder));
    }

    [Fact]
    public async Task A_gang_given_back_starts_the_experiments_queued_behind_it()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        _starts.Gate("used");
        _starts.Refuse("used", "it was already started");
        var refused = _scheduler.SubmitAsync("used", Spec(workers: 2));
        await _starts.Arrived("used").WaitAsync(TimeSpan.FromSeconds(30));
        var waiting = await _scheduler.SubmitAsync("waiting", Spec(workers: 2));  // "used" holds the gang while its start is pending
        Assert.Equal(1, waiting.QueuePosition);

        _starts.Open("used");
        await Assert.ThrowsAsync<InvalidOperationException>(() => refused);

        // No register or release follows: freeing the gang itself starts the queue.
        await _starts.Reached("waiting").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, holder => Assert.Equal("waiting", holder));
    }

    /// <summary>An experiment asking for more workers than the cluster has of its kind can never start by waiting for running
    /// ones: it says so and waits for nodes, and experiments queued after it that fit start (strict FIFO held them all back,
    /// with every worker free). FIFO stays among experiments that can run.</summary>
    [Fact]
    public async Task An_experiment_larger_than_the_cluster_waits_for_nodes_without_holding_back_the_queue()
    {
        var first = SchedulerClusters.Workers(_node, 4);
        await _scheduler.RegisterWorkersAsync(first.Take(2).ToList());
        var large = await _scheduler.SubmitAsync("large", Spec(workers: 3));
        var small = await _scheduler.SubmitAsync("small", Spec(workers: 1));
        var second = await _scheduler.SubmitAsync("second", Spec(workers: 2));  // fits the cluster: waits its turn behind nothing runnable but "small"

        Assert.Equal((false, 1), (large.Started, large.QueuePosition));
        Assert.Contains("live nodes have 2 cpu worker(s) and this experiment needs 3", large.Waiting);
        Assert.True(small.Started);
        Assert.Equal((false, 2, (string?)null), (second.Started, second.QueuePosition, second.Waiting));
        var waiting = (await _scheduler.GetSnapshotAsync()).Waiting;  // what `segcluster status` prints after a --detach
        Assert.Equal(["large"], waiting.Keys);
        Assert.Equal(large.Waiting, waiting["large"]);

        await _scheduler.RegisterWorkersAsync(first);  // a node adds two workers: "large" can run and is first in line
        await _starts.Reached("large").WaitAsync(TimeSpan.FromSeconds(10));
        var holders = await SchedulerClusters.AllocationsAsync(_scheduler);
        Assert.Equal((3, 1), (holders.Values.Count(h => h == "large"), holders.Values.Count(h => h == "small")));
        Assert.Equal(["second"], (await _scheduler.GetSnapshotAsync()).Queue);
    }

    /// <summary>A ring re-forming after a lost node asks for its full size even when the survivors are fewer: it goes before
    /// the queue and holds it (its node may come back), so the workers it just freed are not handed to later submissions.</summary>
    [Fact]
    public async Task A_re_forming_ring_larger_than_the_survivors_still_holds_the_queue()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        Assert.True((await _scheduler.SubmitAsync("ring", Spec(workers: 2))).Started);

        Assert.Empty(await _scheduler.ReformAsync("ring", workers: 3, "cpu"));  // its third worker's node died
        var later = await _scheduler.SubmitAsync("later", Spec(workers: 1));

        Assert.Equal((false, 2), (later.Started, later.QueuePosition));
        Assert.Contains("'ring' re-forms ahead of it and needs 3 cpu workers, more than the live nodes have (2)", later.Waiting);
        var waiting = (await _scheduler.GetSnapshotAsync()).Waiting;
        Assert.StartsWith("it re-forms and needs 3 cpu workers, more than the live nodes have (2)", waiting["ring"]);
        Assert.Equal(later.Waiting, waiting["later"]);
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, Assert.Null);
    }

    [Fact]
    public async Task A_spec_whose_dataset_folder_is_missing_is_refused_at_submit_not_when_it_leaves_the_queue()
    {
        // No worker is registered, so it would queue; the folder is checked now all the same.
        var missing = Path.Combine(Path.GetTempPath(), $"segcluster-no-such-dataset-{Guid.NewGuid():N}");
        var spec = Spec(workers: 2) with { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = missing } };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _scheduler.SubmitAsync("nodata", spec));

        Assert.Contains($"dataset.path: '{missing}' is not an existing folder", refused.Message);
        Assert.DoesNotContain("(Parameter", refused.Message);  // Orleans sends a paramName's suffix in the message
        Assert.Empty((await _scheduler.GetSnapshotAsync()).Queue);
        Assert.Empty(_starts.Launches);
    }

    [Theory]
    [InlineData("../outside", "'..' part")]
    [InlineData("/abs", "empty, '.' or '..' part")]
    [InlineData("a/./b", "'.' or '..' part")]
    [InlineData("run#2", "must not contain '#'")]
    [InlineData("a\\b", "must not contain '#', '\\'")]
    [InlineData(" ", "must not be empty")]
    public async Task An_id_that_cannot_name_a_checkpoint_folder_is_refused_before_anything_is_held(string id, string expected)
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _scheduler.SubmitAsync(id, Spec(workers: 2)));

        Assert.Contains(expected, refused.Message);
        Assert.All((await SchedulerClusters.AllocationsAsync(_scheduler)).Values, Assert.Null);
        Assert.Empty(_starts.Launches);
    }

    /// <summary>One after another, the 8 silent workers of a node that just died took 8 × 5 s, past the 30 s timeout of
    /// the submission or re-formation waiting on them (whose retry then raced the first call).</summary>
    [Fact]
    public async Task A_gangs_workers_are_probed_all_at_once()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 4));
        _probes.AnswerTogether(4);

        var ticket = await _scheduler.SubmitAsync("wide", Spec(workers: 4));

        Assert.True(ticket.Started, $"'wide' was queued at {ticket.QueuePosition}: its workers were probed one at a time, " +
            "so the probes waited out their timeouts and the workers were left out as silent");
    }

    /// <summary>A rank's start may wait up to 20 s in the worker for a cancelled loop to leave the device; a probe queued
    /// behind it timed out, and a live worker was left out of the gang as silent.</summary>
    [Fact]
    public async Task A_worker_answers_the_probe_while_a_ranks_start_waits_in_it()
    {
        var worker = _cluster.Client.GetGrain<IWorkerGrain>(WorkerIds.For(_node, 0));
        _probes.HoldRuns();
        var run = worker.RunAsync(new TrainingAssignment("previous", Spec(workers: 1), 0, [], "", RingId: "previous#1"));
        await _probes.RunHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var probe = worker.DescribeAsync();
        var answered = await Task.WhenAny(probe, Task.Delay(TimeSpan.FromSeconds(10))) == probe;

        Assert.True(answered, "the probe waited behind the rank's start instead of interleaving with it");
        Assert.Equal(WorkerIds.For(_node, 0), (await probe).WorkerId);
        _probes.ReleaseRuns();
        await run;
    }

    /// <summary>Without the scheduler's deactivation forgetting them, a node went on exporting the inventory it last saw
    /// after the scheduler moved to another node; and a new activation exported nothing until its first write.</summary>
    [Fact]
    public async Task The_workers_gauge_follows_the_schedulers_activation()
    {
        await _scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(_node, 2));
        var silo = _cluster.Silos[0].ServiceProvider;
        var free = new Dictionary<string, int> { ["free"] = 2, ["allocated"] = 0 };
        Assert.Equal(free, SchedulerWorkersGauge.Read(silo));

        await _cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Empty(SchedulerWorkersGauge.Read(silo));

        await _scheduler.GetSnapshotAsync();  // reactivates it, from the stored record, writing nothing
        Assert.Equal(free, SchedulerWorkersGauge.Read(silo));
    }

    private static ExperimentSpec Spec(int workers) => new() { Workers = workers };
}
