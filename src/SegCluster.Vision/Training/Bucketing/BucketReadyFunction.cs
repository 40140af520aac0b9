using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Identity over one bucket's parameters, as an autograd node: forward returns aliases that the layers use in place of the
/// parameters, so autograd calls backward exactly once, when the gradient of every parameter of the bucket is complete
/// (all uses summed) — the moment DDP's gradient-accumulator hooks mark a bucket ready. Backward hands the gradients to
/// <see cref="IBucketGradientSink"/> and returns none, so nothing is accumulated twice.
/// </summary>
internal sealed class BucketReadyFunction : autograd.MultiTensorFunction<BucketReadyFunction>
{
    private const string SinkKey = "sink";
    private const string BucketKey = "bucket";

    public override string Name => "SegClusterBucketReady";

    /// <summary>Aliases of <paramref name="parameters"/> whose backward reports bucket <paramref name="bucket"/> to <paramref name="sink"/>.</summary>
    public static List<Tensor> Mark(IBucketGradientSink sink, int bucket, IReadOnlyList<Tensor> parameters) =>
        apply([sink, bucket, .. parameters]);

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data(SinkKey, vars[0]);
        ctx.save_data(BucketKey, vars[1]);
        return [.. vars.Skip(2).Select(v => ((Tensor)v).alias())];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        // Called from native code: an exception here would end the process, so the sink records failures instead.
        ((IBucketGradientSink)ctx.get_data(SinkKey)).Accept((int)ctx.get_data(BucketKey), gradOutputs);
        return [null!, null!, .. gradOutputs.Select(_ => (Tensor)null!)];
    }
}

/// <summary>Receives a bucket's complete gradients from <see cref="BucketReadyFunction"/>, on the autograd thread; must not
/// throw. It owns the gradient tensors it is handed (TorchSharp's wrappers, made for this call on a thread that may have no
/// DisposeScope) and disposes them once it has taken what it needs; nothing else releases them.</summary>
internal interface IBucketGradientSink
{
    void Accept(int bucket, IReadOnlyList<Tensor> gradients);
}
