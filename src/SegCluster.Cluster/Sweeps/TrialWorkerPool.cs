namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// A sweep's workers as its driver leases them to trials, workers_per_trial at a time: free ones in the order they came
/// back, never one whose node left the cluster (a trial's outcome names those, and every trial handed one would fail).
/// The sweep runs as many trials at once as max_concurrent_trials and the workers that remain allow.
/// </summary>
public sealed class TrialWorkerPool
{
    private readonly Queue<string> _free;
    private readonly List<string> _lost = [];
    private readonly int _workers;
    private readonly int _perTrial;
    private readonly int _maxConcurrent;

    /// <param name="workers">The sweep's workers.</param>
    /// <param name="busy">Those leased already (trials followed from an earlier coordinator).</param>
    public TrialWorkerPool(IReadOnlyCollection<string> workers, IEnumerable<string> busy, int perTrial, int maxConcurrent)
    {
        _free = new Queue<string>(workers.Except(busy));
        (_workers, _perTrial, _maxConcurrent) = (workers.Count, perTrial, maxConcurrent);
    }

    /// <summary>How many trials may run at once now.</summary>
    public int Slots => Math.Min(_maxConcurrent, (_workers - _lost.Count) / _perTrial);

    /// <summary>Workers for one trial. Call only while fewer trials run than <see cref="Slots"/>: there are enough free then.</summary>
    public string[] Lease() => Enumerable.Range(0, _perTrial).Select(_ => _free.Dequeue()).ToArray();

    /// <summary>A trial's workers back once it ended; those in <paramref name="lost"/> (their node left the cluster) are
    /// leased to no other trial.</summary>
    public void Return(IEnumerable<string> leased, IReadOnlyList<string>? lost)
    {
        foreach (var worker in leased)
        {
            if (lost?.Contains(worker) != true) _free.Enqueue(worker);
            else _lost.Add(worker);
        }
    }

    /// <summary>Why trials still pending when no trial can run any more do not run.</summary>
    public string NoneLeftReason =>
        $"no workers left to run it: the nodes of {string.Join(", ", _lost)} left the cluster, and the {_workers - _lost.Count} remaining of the sweep's {_workers} workers cannot make a trial of {_perTrial}";
}
