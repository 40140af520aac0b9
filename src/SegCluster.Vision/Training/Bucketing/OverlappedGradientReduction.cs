using System.Diagnostics;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Gradient all-reduce overlapped with backward, bucket by bucket (PyTorch DDP's reducer): during an armed forward the
/// layers use aliases of each bucket's parameters made by <see cref="BucketReadyFunction"/>; when autograd has the
/// bucket's complete gradients it calls back here, the gradients are added into the flat buffer and the bucket's
/// all-reduce is queued on the <see cref="ReductionStream"/> while backward goes on. Buckets launch in index order (the
/// same on every rank); <see cref="Finish"/> launches the rest (buckets holding a parameter that cannot be substituted,
/// or that no loss reached) and waits. Results are the same bits as one all-reduce after backward: each element is summed
/// by the same reducer over the same ranks.
/// </summary>
/// <remarks>
/// A bucket's node is made when a layer first uses one of its parameters, not when forward starts: autograd runs the
/// ready node made LATEST in forward first (its priority is the creation sequence number), so a node made at the start
/// of forward would wait for the whole backward. Made just before the bucket's first layer runs, it runs as soon as that
/// layer's backward is done. The per-layer hooks are registered before the precision policy's, so a layer's weight is
/// swapped for its alias before the policy casts it.
/// </remarks>
internal sealed class OverlappedGradientReduction : IBucketGradientSink, IDisposable
{
    private readonly List<Action> _removeHooks = [];
    private readonly ReductionStream _stream;
    private readonly SegmentationModel _model;
    private ParameterSlice[] _slices = [];
    private Tensor[] _views = [];
    private GradientBucket[] _buckets = [];
    private bool[] _substitutable = [];  // per bucket: every parameter can be replaced by its alias
    private int[] _eager = [];  // substitutable buckets with a parameter no hooked layer owns: marked when forward starts
    private readonly Dictionary<nn.Module, int[]> _bucketsOf = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<object> _hooked = new(ReferenceEqualityComparer.Instance);  // layers whose first use marks their buckets
    private ParameterFields? _fields;
    private HostGradientBuffer? _host;
    private Tensor? _gradient;
    private Task?[] _launched = [];
    private bool[] _ready = [];
    private bool[] _marked = [];
    private readonly List<Parameter> _substitutes = [];
    private int _nextLaunch;
    private bool _armed, _marking;
    private Exception? _failure;

    /// <summary>Hooks <paramref name="model"/>'s layers; call before anything else hooks them (the precision policy), then
    /// <see cref="Bind"/> once the trainer's parameters and flat gradient exist.</summary>
    public OverlappedGradientReduction(SegmentationModel model, ReductionStream stream)
    {
        (_model, _stream) = (model, stream);
        foreach (var module in model.modules())
        {
            if (module is not nn.Module<Tensor, Tensor> layer || !module.named_parameters(recurse: false).Any()) continue;
            var hook = layer.register_forward_pre_hook((m, input) => { MarkBucketsUsedBy(m); return input; });
            _removeHooks.Add(hook.remove);
            _hooked.Add(layer);
        }
        var before = model.register_forward_pre_hook((_, images) => { BeginForward(); return images; });
        var after = model.register_forward_hook((_, _, output) => { EndForward(); return output; });
        _removeHooks.Add(before.remove);
        _removeHooks.Add(after.remove);
    }

    /// <param name="bound">Per slice: its grad is its view of <paramref name="gradient"/> (a bucket with another parameter is
    /// reduced after backward, when the trainer has copied that parameter's grad in).</param>
    public void Bind(ParameterSlice[] slices, Tensor[] views, bool[] bound, Tensor gradient, HostGradientBuffer host, long bucketBytes)
    {
        (_slices, _views, _gradient, _host) = (slices, views, gradient, host);
        _buckets = GradientBucketLayout.Build(slices, bucketBytes);
        _fields = new ParameterFields(_model);
        var fields = _fields;
        IEnumerable<int> Members(GradientBucket b) => Enumerable.Range(b.FirstSlice, b.EndSlice - b.FirstSlice);
        _substitutable = [.. _buckets.Select(b => Members(b).All(i => bound[i] && fields.CanSubstitute(slices[i].Parameter)))];
        _eager = [.. _buckets.Where(b => _substitutable[b.Index]
            && Members(b).Any(i => fields.Owners(slices[i].Parameter).Any(o => !_hooked.Contains(o)))).Select(b => b.Index)];
        _bucketsOf.Clear();
        foreach (var b in _buckets.Where(b => _substitutable[b.Index]))
            foreach (var owner in Members(b).SelectMany(i => fields.Owners(slices[i].Parameter)).Distinct())
                _bucketsOf[owner] = [.. (_bucketsOf.GetValueOrDefault(owner) ?? []).Append(b.Index).Distinct()];
        _launched = new Task?[_buckets.Length];
        _ready = new bool[_buckets.Length];
        _marked = new bool[_buckets.Length];
    }

    public IReadOnlyList<GradientBucket> Buckets => _buckets;

    /// <summary>Marks the next forward's parameters (call before the last micro-batch of a step; earlier micro-batches
    /// only accumulate, as under DDP's no_sync).</summary>
    public void Arm() => _armed = true;

    /// <summary>Puts the real parameters back if a forward threw before its end; no further forward is marked.</summary>
    public void Disarm()
    {
        _armed = false;
        EndForward();
    }

    /// <summary>
    /// Launches every bucket not yet launched, in order, waits for all, and copies the sums back to a device gradient.
    /// Returns the time spent here (the communication backward did not hide) and how many buckets had started during backward.
    /// </summary>
    /// <exception cref="Exception">The first failure of a bucket's all-reduce (the reducer's own exception): once the stream
    /// has failed no further bucket is launched, and those already queued fail at once (<see cref="ReductionStream"/>).</exception>
    public (TimeSpan Waited, int Overlapped) Finish()
    {
        long start = Stopwatch.GetTimestamp();
        int overlapped = _nextLaunch;
        try
        {
            while (_nextLaunch < _buckets.Length && _stream.Failure is null) Launch();
            foreach (var task in _launched.Where(t => t is not null))
            {
                try { task!.GetAwaiter().GetResult(); }
                catch (Exception e) { _failure ??= e; }
            }
            if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            _host!.Upload(_gradient!);
            return (Stopwatch.GetElapsedTime(start), overlapped);
        }
        finally
        {
            Abandon();
        }
    }

    /// <summary>After a failed forward or backward: waits for the buckets already launched (their buffers are the
    /// gradient's memory; after a reducer failure only the one in the reducer takes time, the rest fail at once) and
    /// forgets this step's state, so the next step starts clean.</summary>
    public void Abandon()
    {
        foreach (var task in _launched)
        {
            try { task?.Wait(); }
            catch (AggregateException) { }  // the step failed already; the trainer reports that failure
        }
        Array.Clear(_launched);
        Array.Clear(_ready);
        (_nextLaunch, _failure) = (0, null);
    }

    void IBucketGradientSink.Accept(int bucket, IReadOnlyList<Tensor> gradients)
    {
        try
        {
            using (no_grad())
            {
                var b = _buckets[bucket];
                for (int i = b.FirstSlice; i < b.EndSlice; i++) _views[i].add_(gradients[i - b.FirstSlice], KeptScalars.One);
            }
            _ready[bucket] = true;
            while (_nextLaunch < _buckets.Length && _ready[_nextLaunch] && _stream.Failure is null) Launch();
        }
        catch (Exception e)
        {
            _failure ??= e;
            // As DifferentiableAllReduce does: a bucket whose gradient is incomplete (add_ threw) must not be sent by Finish,
            // nor the buckets after it (peers would pair them with other sums); the step fails, and so do the peers' sums.
            _stream.Abort(e);
        }
        finally
        {
            // TorchSharp wraps each incoming gradient in a new Tensor on the thread autograd calls from: on CUDA a device
            // thread with no DisposeScope, so the wrappers (each holding a bucket's gradient memory) would live until the
            // garbage collector finalised them; nothing else releases them, as backward returns none.
            foreach (var gradient in gradients) gradient?.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks) remove();
        _removeHooks.Clear();
        EndForward();
    }

    /// <summary>Queues bucket <see cref="_nextLaunch"/>'s all-reduce, then moves on to the next. One that could not be queued
    /// aborts the stream: no later bucket is launched in its place (every rank's n-th sum must be the same bucket).</summary>
    private void Launch()
    {
        var b = _buckets[_nextLaunch];
        try
        {
            _host!.Download(_gradient!, b.Offset, b.Length);  // a device gradient: this bucket to host memory (CPU: nothing to do)
            _launched[_nextLaunch] = _stream.Launch(_host.Values.AsMemory(b.Offset, b.Length));
        }
        catch (Exception e)
        {
            _stream.Abort(e);
            throw;
        }
        _nextLaunch++;
    }

    private void BeginForward()
    {
        EndForward();
        if (!_armed || !is_grad_enabled() || _fields is null) return;
        _armed = false;
        _marking = true;
        Array.Clear(_marked);
        foreach (var b in _eager) Mark(b);
    }

    private void MarkBucketsUsedBy(nn.Module layer)
    {
        if (!_marking || !_bucketsOf.TryGetValue(layer, out var buckets)) return;
        foreach (var b in buckets)
            if (!_marked[b]) Mark(b);
    }

    private void Mark(int bucket)
    {
        var b = _buckets[bucket];
        _marked[bucket] = true;
        var parameters = _slices[b.FirstSlice..b.EndSlice].Select(s => (Tensor)s.Parameter).ToList();
        var aliases = BucketReadyFunction.Mark(this, b.Index, parameters);
        for (int i = 0; i < aliases.Count; i++)
        {
            // Out of any dispose scope: a layer's forward may open its own, which would end before later layers use these.
            var substitute = new Parameter(aliases[i], requires_grad: true);
            substitute.DetachFromDisposeScope();
            _fields!.Set(_slices[b.FirstSlice + i].Parameter, substitute);
            _substitutes.Add(substitute);
        }
    }

    private void EndForward()
    {
        _marking = false;
        if (_substitutes.Count == 0) return;
        foreach (var s in _slices) if (_fields!.CanSubstitute(s.Parameter)) _fields.Set(s.Parameter, s.Parameter);
        foreach (var s in _substitutes) s.Dispose();  // the graph keeps its own references
        _substitutes.Clear();
    }
}
