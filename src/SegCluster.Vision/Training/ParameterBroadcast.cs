using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// Makes every rank start from rank 0's weights, as DDP does at construction: ranks other than 0
/// contribute zeros to a sum, so the sum is rank 0's values. Parameters and floating-point buffers
/// (BatchNorm running statistics) are both sent, in fp32 whatever the gradients' wire format. Call on every rank together.
/// </summary>
public static class ParameterBroadcast
{
    public static void FromRankZero(nn.Module module, IGradientReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(module);
        Broadcast(module.parameters().Concat(module.buffers()), reducer);
    }

    /// <summary>Only the floating-point buffers (BatchNorm running statistics, rank-local with plain `bn`), for a
    /// validation mid-run: the parameters are equal on every rank already (each applies the same reduced gradients), and
    /// sending them again would cost a model-sized all-reduce per validation.</summary>
    public static void BuffersFromRankZero(nn.Module module, IGradientReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(module);
        Broadcast(module.buffers(), reducer);
    }

    private static void Broadcast(IEnumerable<Tensor> candidates, IGradientReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        if (reducer.WorldSize == 1) return;
        using var scope = NewDisposeScope();  // the detach/cpu/contiguous and host copies of every tensor, not just the last of each chain

        var tensors = candidates.Where(t => t.dtype == ScalarType.Float32).ToList();
        if (tensors.Count == 0) return;  // every rank sees the same module, so every rank returns here together
        var buffer = new float[tensors.Sum(t => t.numel())];
        if (reducer.Rank == 0)
        {
            var offset = 0;
            foreach (var t in tensors)
            {
                var host = t.detach().cpu().contiguous();
                host.data<float>().CopyTo(buffer, offset);
                offset += (int)t.numel();
            }
        }

        reducer.SumFullPrecision(buffer);  // weights as they are: an fp16 gradient wire would round them

        using var noGrad = no_grad();
        var position = 0;
        foreach (var t in tensors)
        {
            var n = (int)t.numel();
            var values = tensor(buffer.AsSpan(position, n).ToArray(), t.shape).to(t.device);
            t.copy_(values);
            position += n;
        }
    }
}
