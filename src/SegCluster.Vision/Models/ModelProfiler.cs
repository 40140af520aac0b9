using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// Parameter and compute counter.
/// Parameters: the sum of numel over the module's trainable parameters.
/// Compute: analytic MACs per layer from the shapes of one traced forward pass. TorchSharp 0.107 does have
/// forward hooks, but only <c>Module.call()</c> runs them (<c>forward()</c> does not), which is why the model
/// code invokes its submodules with <c>call</c>. A hook on every Conv2d records
/// C_out · C_in/groups · k_h · k_w · H_out · W_out and on every Linear in · out per position (per token for a ViT);
/// norms, activations, pooling, interpolation and additions are not counted (the fvcore convention; together they
/// are a few %), nor are attention's Q·Kᵀ and A·V products (2·N²·D per ViT block: 8% of ViT-S/16 at 224², more
/// at larger sizes, since they grow with N²).
/// FLOPs are reported as 2 × MACs (see <see cref="ModelProfile.Flops"/>).
/// The traced pass runs at the target size divided by a power of two (so 1024×2048 costs a 64×128 forward
/// instead of hundreds of GFLOPs and many GB): every spatial size then scales exactly by the divisor because
/// all strides divide the probe size, so each layer's count is scaled by the pixel ratio, except layers whose
/// output is 1×1 (after global pooling: the classifier's fc, ASPP's image-pooling branch), which do not scale.
/// A Conv2d or Linear whose hook never fired would be invoked with forward(): the count throws rather than under-report.
/// </summary>
public static class ModelProfiler
{
    /// <param name="model">Any image model; it is put in eval mode and run once without gradients.</param>
    /// <param name="height">Target input height H.</param>
    /// <param name="width">Target input width W.</param>
    /// <param name="outputStride">The model's coarsest stride: the probe keeps H and W multiples of 2·stride.</param>
    /// <param name="maxProbeDivisor">Largest divisor of the probe size (1 runs the forward at full size).</param>
    public static ModelProfile Profile<TOutput>(nn.Module<Tensor, TOutput> model, int height, int width, int outputStride, int maxProbeDivisor = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (height % outputStride != 0 || width % outputStride != 0)
            throw new ArgumentException($"size {height}x{width} is not divisible by the output stride {outputStride}");
        long parameters = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

        int divisor = 1;
        while (height % (divisor * 2 * 2 * outputStride) == 0 && width % (divisor * 2 * 2 * outputStride) == 0 && divisor < maxProbeDivisor)
            divisor *= 2;
        double scale = (double)divisor * divisor;

        double macs = 0;
        var fired = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        var counted = new List<nn.Module>();
        var removers = new List<Action>();
        foreach (var module in model.modules())
        {
            switch (module)
            {
                case TorchSharp.Modules.Conv2d conv:
                    counted.Add(conv);
                    var convHook = conv.register_forward_hook((m, input, output) =>
                    {
                        fired.Add(m);
                        var w = conv.weight!;  // (C_out, C_in/groups, k_h, k_w)
                        long pixels = output.shape[2] * output.shape[3];
                        macs += w.numel() * (double)pixels * (pixels == 1 ? 1 : scale);
                        return output;
                    });
                    removers.Add(convHook.remove);
                    break;
                case TorchSharp.Modules.Linear linear:
                    counted.Add(linear);
                    var linearHook = linear.register_forward_hook((m, input, output) =>
                    {
                        fired.Add(m);
                        // (B, ..., out): every position (a ViT token) multiplies the weight once; positions
                        // scale with the pixels except for a pooled (B, out) classifier input.
                        long positions = output.numel() / (output.shape[0] * output.shape[^1]);
                        macs += linear.weight!.numel() * (double)positions * (positions == 1 ? 1 : scale);
                        return output;
                    });
                    removers.Add(linearHook.remove);
                    break;
            }
        }

        bool training = model.training;
        try
        {
            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.call(zeros(1, 3, height / divisor, width / divisor));
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(training);
        }
        var missed = counted.Where(m => !fired.Contains(m)).ToList();
        if (missed.Count > 0)
            throw new InvalidOperationException(
                $"{missed.Count} Conv2d/Linear layers ran without their hook (invoked with forward() instead of call()?): the count would be low.");
        return new ModelProfile(parameters, macs, height, width);
    }
}
