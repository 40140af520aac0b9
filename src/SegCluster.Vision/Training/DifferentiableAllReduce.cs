using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// All-reduce SUM as an autograd operation: every rank gets y = Σ_k x_k, and since each rank's loss depends
/// on y, dL/dx_r = Σ_k dL_k/dy, which is again an all-reduce SUM of the incoming gradients. Statistics
/// computed with it (synchronized BatchNorm) therefore back-propagate across ranks exactly. Every rank must
/// call it in the same order, forward and backward (autograd replays the same graph on every rank).
/// </summary>
public static class DifferentiableAllReduce
{
    public static Tensor Sum(Tensor input, IGradientReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(reducer);
        return AllReduceSumFunction.apply(input, reducer);
    }

    /// <summary>The values summed over ranks, on the input's device, dtype and shape.</summary>
    internal static Tensor Reduce(Tensor tensor, IGradientReducer reducer)
    {
        using var host = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = host.data<float>().ToArray();
        reducer.Sum(values);
        return torch.tensor(values, dtype: ScalarType.Float32, device: tensor.device).view(tensor.shape).to(tensor.dtype);
    }

    private sealed class AllReduceSumFunction : autograd.SingleTensorFunction<AllReduceSumFunction>
    {
        private const string ReducerKey = "reducer";

        public override string Name => "SegClusterAllReduceSum";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var reducer = (IGradientReducer)vars[1];
            ctx.save_data(ReducerKey, reducer);
            return Reduce((Tensor)vars[0], reducer);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
            [Reduce(gradOutput, (IGradientReducer)ctx.get_data(ReducerKey)), null!];
    }
}
