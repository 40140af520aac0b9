using System.Diagnostics;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Gradient all-reduce overlapped with backward, bucket by bucket (PyTorch DDP's reducer): during an armed forward the
/// model's layers use aliases of each bucket's parameters made by <see cref="BucketReadyFunction"/>; when autograd has
/// the bucket's complete gradients it calls back here, the gradients are added into the flat buffer and the bucket's
/// all-reduce is queued on the <see cref="ReductionStream"/> while backward goes on. Buckets launch in index order (the
/// same on every rank); <see cref="Finish"/> launches the rest (buckets holding a parameter that cannot be substituted,
/// or that no loss reached) and waits. Results are the same bits as one all-reduce after backward: each element is summed
/// by the same reducer over the same ranks.
/// </summary>
internal sealed class OverlappedGradientReduction : IBucketGradientSink, IDisposable
{
    private readonly ParameterSlice[] _slices;
    private readonly Tensor[] _views;
    private readonly GradientBucket[] _buckets;
    private readonly bool[] _substitutable;  // per bucket: every parameter can be replaced by its alias
    private readonly ParameterFields _fields;
    private readonly ReductionStream _stream;
    private readonly HostGradientBuffer _host;
    private readonly Tensor _gradient;
    private readonly Task?[] _launched;
    private readonly bool[] _ready;
    private readonly List<Parameter> _substitutes = [];
    private readonly Action _removeHooks;
    private int _nextLaunch;
    private bool _armed;
    private Exception? _failure;

    /// <param name="bound">Per slice: its grad is its view of <paramref name="gradient"/> (a bucket with another parameter is
    /// reduced after backward, when the trainer has copied that parameter's grad in).</param>
    public OverlappedGradientReduction(SegmentationModel model, ParameterSlice[] slices, Tensor[] views, bool[] bound, Tensor gradient,
        HostGradientBuffer host, ReductionStream stream, long bucketBytes)
    {
        (_slices, _views, _gradient, _host, _stream) = (slices, views, gradient, host, stream);
        _buckets = GradientBucketLayout.Build(slices, bucketBytes);
        _fields = new ParameterFields(model);
        _substitutable = [.. _buckets.Select(b => Enumerable.Range(b.FirstSlice, b.EndSlice - b.FirstSlice)
            .All(i => bound[i] && _fields.CanSubstitute(slices[i].Parameter)))];
        _launched = new Task?[_buckets.Length];
        _ready = new bool[_buckets.Length];
        var before = model.register_forward_pre_hook((_, images) => { Substitute(); return images; });
        var after = model.register_forward_hook((_, _, output) => { Restore(); return output; });
        _removeHooks = () => { before.remove(); after.remove(); };
    }

    public IReadOnlyList<GradientBucket> Buckets => _buckets;

    /// <summary>Buckets whose all-reduce can start during backward (the others wait for <see cref="Finish"/>).</summary>
    public int OverlappableBuckets => _substitutable.Count(s => s);

    /// <summary>Marks the next forward's parameters (call before the last micro-batch of a step; earlier micro-batches
    /// only accumulate, as under DDP's no_sync).</summary>
    public void Arm() => _armed = true;

    /// <summary>Puts the real parameters back if a forward threw before its end; no further forward is marked.</summary>
    public void Disarm()
    {
        _armed = false;
        Restore();
    }

    /// <summary>
    /// Launches every bucket not yet launched, in order, waits for all, and copies the sums back to a device gradient.
    /// Returns the time spent here (the communication backward did not hide) and how many buckets had started during backward.
    /// </summary>
    /// <exception cref="Exception">The first failure of a bucket's all-reduce (the reducer's own exception).</exception>
    public (TimeSpan Waited, int Overlapped) Finish()
    {
        long start = Stopwatch.GetTimestamp();
        int overlapped = _nextLaunch;
        try
        {
            while (_nextLaunch < _buckets.Length) Launch(_nextLaunch++);
            foreach (var task in _launched)
            {
                try { task!.GetAwaiter().GetResult(); }
                catch (Exception e) { _failure ??= e; }
            }
            if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            _host.Upload(_gradient);
            return (Stopwatch.GetElapsedTime(start), overlapped);
        }
        finally
        {
            Abandon();
        }
    }

    /// <summary>After a failed forward or backward: waits for the buckets already launched (their buffers are the
    /// gradient's memory) and forgets this step's state, so the next step starts clean.</summary>
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
                for (int i = b.FirstSlice; i < b.EndSlice; i++) _views[i].add_(gradients[i - b.FirstSlice]);
            }
            _ready[bucket] = true;
            while (_nextLaunch < _buckets.Length && _ready[_nextLaunch]) Launch(_nextLaunch++);
        }
        catch (Exception e)
        {
            _failure ??= e;
        }
    }

    public void Dispose()
    {
        _removeHooks();
        Restore();
    }

    private void Launch(int bucket)
    {
        var b = _buckets[bucket];
        _host.Download(_gradient, b.Offset, b.Length);  // a device gradient: this bucket to host memory (CPU: nothing to do)
        _launched[bucket] = _stream.Launch(_host.Values.AsMemory(b.Offset, b.Length));
    }

    private void Substitute()
    {
        if (!_armed || !is_grad_enabled()) return;
        _armed = false;
        Restore();
        foreach (var b in _buckets)
        {
            if (!_substitutable[b.Index]) continue;
            var parameters = _slices[b.FirstSlice..b.EndSlice].Select(s => (Tensor)s.Parameter).ToList();
            var aliases = BucketReadyFunction.Mark(this, b.Index, parameters);
            for (int i = 0; i < aliases.Count; i++)
            {
                var substitute = new Parameter(aliases[i], requires_grad: true);
                _fields.Set(_slices[b.FirstSlice + i].Parameter, substitute);
                _substitutes.Add(substitute);
            }
        }
    }

    private void Restore()
    {
        if (_substitutes.Count == 0) return;
        foreach (var s in _slices) if (_fields.CanSubstitute(s.Parameter)) _fields.Set(s.Parameter, s.Parameter);
        foreach (var s in _substitutes) s.Dispose();  // the graph keeps its own references
        _substitutes.Clear();
    }
}
