using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// Bytes of the Conv2d outputs of one forward pass: the activations backward keeps, and so the part of training memory
/// a label grid or a decoder truncation changes (PAPERS.md §2: the decoder stops at the label grid). Measured in one
/// process per configuration where process peak memory cannot be (trials running side by side in one process).
/// </summary>
public static class ActivationFootprint
{
    /// <param name="model">Put in eval mode and run once without gradients on a zero (1, 3, H, W) image.</param>
    /// <returns>Conv2d output bytes for one image.</returns>
    public static long ConvOutputBytes<TOutput>(nn.Module<Tensor, TOutput> model, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        long bytes = 0;
        var removers = new List<Action>();
        foreach (var conv in model.modules().OfType<TorchSharp.Modules.Conv2d>())
            removers.Add(conv.register_forward_hook((_, _, output) =>
            {
                bytes += output.numel() * output.element_size();
                return output;
            }).remove);
        ModelProfiler.ProbeForward(model, height, width, removers);
        return bytes;
    }
}
