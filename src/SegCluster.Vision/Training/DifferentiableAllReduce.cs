using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// All-reduce SUM over one group as an autograd operation: every rank gets y = Σ_k x_k, and since each rank's loss depends
/// on y, dL/dx_r = Σ_k dL_k/dy, which is again an all-reduce SUM of the incoming gradients. Statistics
/// computed with it therefore back-propagate across ranks exactly; synchronized BatchNorm uses its parts, a gather outside
/// autograd and a sum inside its own backward. Every rank must call it in the same order, forward and backward (autograd
/// replays the same graph on every rank).
/// </summary>
/// <remarks>
/// Backward's sums run inside autograd, called from native code, where an exception must not escape: .NET cannot unwind
/// through libtorch's frames and ends the process ("Unhandled exception", SIGABRT), which is what Ctrl-C during a
/// SyncBatchNorm run did when the cancelled reducer threw there. So a failed backward sum (the run was cancelled, a peer
/// was lost) is kept, its gradient and those of the rest of that backward are zeros, and whoever called backward() must
/// call <see cref="ThrowIfBackwardFailed"/> right after it, before any gradient is used: the trainer does, so such a step
/// fails with the reducer's own exception and applies nothing. After a failure the group is broken (as
/// <see cref="Bucketing.ReductionStream"/> treats one): no later sum reaches the reducer, every one fails with that failure,
/// and <paramref name="onBackwardFailure"/> hears of it (the trainer aborts the stream it sums through, so the gradient
/// buckets backward still launches fail too).
/// </remarks>
/// <param name="onBackwardFailure">Told the first backward failure, from backward's thread; it must not throw.</param>
public sealed class DifferentiableAllReduce(IGradientReducer reducer, Action<Exception>? onBackwardFailure = null)
{
    private Exception? _failure;  // the first failure of a backward sum; set once

    public IGradientReducer Reducer { get; } = reducer ?? throw new ArgumentNullException(nameof(reducer));

    public int WorldSize => Reducer.WorldSize;

    /// <summary>Σ over ranks of <paramref name="input"/>, differentiable. Throws the reducer's exception when it fails in
    /// forward, and the backward failure kept when there is one.</summary>
    public Tensor Sum(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfBackwardFailed();
        return AllReduceSumFunction.apply(input, this);
    }

    /// <summary>Throws the reducer's exception if a sum failed during backward (see the remarks); call after every backward()
    /// of a graph that used <see cref="Sum"/>, before its gradients are read.</summary>
    public void ThrowIfBackwardFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>
    /// All-gather outside autograd, as one all-reduce: row r of the result is rank r's <paramref name="input"/> (read as
    /// float32) followed by its <paramref name="hostValues"/>, so a (WorldSize, numel + hostValues.Length) row-major array
    /// on the host. Each rank fills only its own row of a zero buffer and the reducer sums it (x + 0 is exact, so every row
    /// arrives as its rank sent it); PyTorch's SyncBatchNorm all-gathers each rank's statistics the same way, in one
    /// collective. For a function that sums its own gradients in backward with <see cref="SumInBackward"/> (SyncBatchNorm's
    /// statistics): values the host already has (a pixel count) ride in the host slots, with no upload before it, and
    /// nothing is uploaded after it: the caller combines the rows on the host. Sent in full precision (never an fp16
    /// wire): the buffer grows with the world size, and counts must arrive exact.
    /// </summary>
    internal float[] GatherWithoutGradient(Tensor input, ReadOnlySpan<float> hostValues)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfBackwardFailed();
        using var host = OnHost(input);
        int count = checked((int)host.numel());
        int row = count + hostValues.Length;
        var values = new float[checked(row * WorldSize)];  // (WorldSize, tensor values..., host values...), zeros but ours
        int start = checked(Reducer.Rank * row);
        host.data<float>().CopyTo(values, start);
        hostValues.CopyTo(values.AsSpan(start + count));
        Reducer.SumFullPrecision(values);
        return values;
    }

    /// <summary>The values summed over ranks, on the input's device, dtype and shape.</summary>
    private Tensor Reduce(Tensor tensor)
    {
        using var host = OnHost(tensor);
        var values = host.data<float>().ToArray();
        Reducer.Sum(values);
        return torch.tensor(values, dtype: ScalarType.Float32, device: tensor.device).view(tensor.shape).to(tensor.dtype);
    }

    /// <summary>The values as the reducer sends them: float32, dense, on the host.</summary>
    private static Tensor OnHost(Tensor tensor) => tensor.detach().to(ScalarType.Float32).cpu().contiguous();

    /// <summary>A sum inside backward: never throws; after a failure, zeros (see the remarks).</summary>
    internal Tensor SumInBackward(Tensor gradient)
    {
        if (Volatile.Read(ref _failure) is null)
        {
            try
            {
                return Reduce(gradient);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
                // A failure outside the reducer (copying the gradient to the host) leaves a stream healthy, and the gradient
                // buckets backward still launches would reach peers that wait for this sum: break it, so they fail too.
                onBackwardFailure?.Invoke(e);
            }
        }
        return zeros_like(gradient);
    }

    private sealed class AllReduceSumFunction : autograd.SingleTensorFunction<AllReduceSumFunction>
    {
        private const string GroupKey = "group";

        public override string Name => "SegClusterAllReduceSum";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var group = (DifferentiableAllReduce)vars[1];
            ctx.save_data(GroupKey, group);
            return group.Reduce((Tensor)vars[0]);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            // On CUDA autograd calls this from a device thread with no DisposeScope, so every wrapper made here (the host
            // copy, the upload and its views) and TorchSharp's wrapper of the incoming gradient would live until the garbage
            // collector finalised them. Only the returned gradient leaves: libtorch reads it after this returns.
            using var incoming = gradOutput;
            using var scope = NewDisposeScope();
            var group = (DifferentiableAllReduce)ctx.get_data(GroupKey);
            return [group.SumInBackward(gradOutput).MoveToOuterDisposeScope(), null!];
        }
    }
}
