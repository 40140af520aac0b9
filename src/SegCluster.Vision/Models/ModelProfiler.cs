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
/// The traced pass runs at the target size divided by a power of two d (so 1024×2048 costs a 16×32 and a 32×64
/// forward instead of hundreds of GFLOPs and many GB): all strides divide the probe sizes, so every layer's count is
/// affine in the input's pixels — proportional for convolutions, constant after global pooling (the classifier's fc,
/// ASPP's image-pooling branch), 1 + pixels/256 tokens for a ViT's linears (the class token does not scale) — and two
/// probes, at d and d/2, fit it exactly and extrapolate to the target size. (Scaling one probe by d² counted the class
/// token d² times: ViT MACs 12–25% high.)
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
        double macs;
        if (divisor == 1)
            macs = TracedMacs(model, height, width);
        else
        {
            // Affine in pixels p: m(p) = a + b·p; probes at p₁ = P/d² and p₂ = 4·p₁ give m(P) = m₁ + (m₂ − m₁)(d² − 1)/3.
            double coarse = TracedMacs(model, height / divisor, width / divisor), fine = TracedMacs(model, 2 * height / divisor, 2 * width / divisor);
            macs = coarse + (fine - coarse) * ((double)divisor * divisor - 1) / 3;
        }
        return new ModelProfile(parameters, macs, height, width);
    }

    /// <summary>Conv2d and Linear MACs of one traced forward of a (1, 3, H, W) input.</summary>
    private static double TracedMacs<TOutput>(nn.Module<Tensor, TOutput> model, int height, int width)
    {
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
                        macs += w.numel() * (double)pixels;
                        return output;
                    });
                    removers.Add(convHook.remove);
                    break;
                case TorchSharp.Modules.Linear linear:
                    counted.Add(linear);
                    var linearHook = linear.register_forward_hook((m, input, output) =>
                    {
                        fired.Add(m);
                        // (B, ..., out): every position (a ViT token, the class token too) multiplies the weight once.
                        long positions = output.numel() / (output.shape[0] * output.shape[^1]);
                        macs += linear.weight!.numel() * (double)positions;
                        return output;
                    });
                    removers.Add(linearHook.remove);
                    break;
            }
        }

        ProbeForward(model, height, width, removers);
        var missed = counted.Where(m => !fired.Contains(m)).ToList();
        if (missed.Count > 0)
            throw new InvalidOperationException(
                $"{missed.Count} Conv2d/Linear layers ran without their hook (invoked with forward() instead of call()?): the count would be low.");
        return macs;
    }

    /// <summary>One forward pass of a zero (1, 3, H, W) image in eval mode without gradients, for the forward hooks the
    /// caller registered; the hooks are removed (<paramref name="removeHooks"/>) and the model's mode restored after.</summary>
    internal static void ProbeForward<TOutput>(nn.Module<Tensor, TOutput> model, int height, int width, IEnumerable<Action> removeHooks)
    {
        bool training = model.training;
        try
        {
            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.call(zeros(1, 3, height, width));
        }
        finally
        {
            foreach (var remove in removeHooks) remove();
            model.train(training);
        }
    }
}
