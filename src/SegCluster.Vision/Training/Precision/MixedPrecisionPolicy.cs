using SegCluster.Vision.Models;
using SegCluster.Vision.Spectral;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// What PyTorch's autocast does, applied once to any built <see cref="SegmentationModel"/> through forward hooks
/// (model code stays precision-agnostic; DESIGN.md "Precision is a policy"):
/// <list type="bullet">
/// <item>Conv2d and Linear compute in the low precision: their input and their fp32 master weight and bias are cast
/// for the call (the casts are differentiable, so the gradients land in the fp32 parameters). Attention follows, as
/// its operands come out of Linear layers; its fused kernel keeps the softmax in fp32 (<c>TransformerBlock</c>).</item>
/// <item>On CPU the layer runs libtorch's fp32 kernel on operands rounded to the low precision and rounds its output
/// (and, through the casts' backward, each input and weight gradient) once: what bf16/fp16 hardware (tensor cores,
/// AMX) computes, as a product of two bf16 or fp16 numbers is exact in fp32 and the sums accumulate in fp32.
/// libtorch 2.10's own CPU bf16 convolution without native bf16 kernels (oneDNN capped at AVX) accumulates in bf16:
/// the weight gradient per batch sample (relative error 2.1e-3, 3.5e-3, 6.7e-3 at batch 2, 8, 32, against 1.7e-3
/// for one rounding) and the input gradient's overlapping 3×3 windows (4.1e-3); it is also 3–5× slower than fp32.</item>
/// <item>Norm layers keep fp32 parameters and get fp32 input (SyncBatchNorm's group statistics therefore stay
/// fp32); plain BatchNorm on CUDA takes the low-precision input as cuDNN does under autocast.</item>
/// <item>Spectral feature truncation (decoder truncation, PAPERS.md §2) computes its FFTs from fp32 input and returns
/// fp32, as autocast runs the fft ops: libtorch's rfft2 rejects bf16 (and CPU fp16) input, and the next convolution
/// rounds the truncated feature to the low precision anyway.</item>
/// <item>The model's classifiers (<see cref="SegmentationModel.Classifiers"/>: the head's and auxiliary ones such as
/// SPG's prediction, found by structure, not by K output channels a hidden layer may share) return fp32 logits, so they are
/// upsampled in fp32 (bf16 bilinear backward measured 4.5× slower, shared/PLATFORM.md), and every model output
/// is fp32, so softmax, every loss and the metrics compute in fp32.</item>
/// <item>channels_last: conv weights converted once, images on entry; libtorch keeps the format through the step.
/// A convolution this device computes wrongly in channels_last stays NCHW (<see cref="ChannelsLastConvolutionCheck"/>);
/// under data parallelism, one that any rank's device computes wrongly stays NCHW on every rank (see
/// <see cref="Attach(SegmentationModel, PrecisionOptions, Func{bool[], bool[]}?, Func{Conv2d, bool}?)"/>).</item>
/// </list>
/// Hooks run only through <c>Module.call</c>, which is how models invoke their layers (ModelProfiler relies on it too).
/// </summary>
public sealed class MixedPrecisionPolicy : IDisposable
{
    private readonly List<Action> _removers = [];
    private readonly List<string> _contiguousConvolutions = [];

    private MixedPrecisionPolicy(PrecisionOptions options)
    {
        Options = options;
        Scaler = options.UsesLossScaling ? new DynamicLossScaler() : null;
    }

    public PrecisionOptions Options { get; }

    /// <summary>The fp16 loss scaler; null for fp32 and bf16-mixed.</summary>
    public DynamicLossScaler? Scaler { get; }

    /// <summary>
    /// Convolutions left in NCHW under channels_last because this device, or under data parallelism another rank's,
    /// computes them wrongly in channels_last (<see cref="ChannelsLastConvolutionCheck"/>); their input is made contiguous
    /// for the call. Empty otherwise.
    /// </summary>
    public IReadOnlyList<string> ContiguousConvolutions => _contiguousConvolutions;

    /// <summary>The scale the loss is multiplied by before backward (1 without a scaler).</summary>
    public double LossScale => Scaler?.Scale ?? 1.0;

    /// <summary>
    /// Applies <paramref name="options"/> to <paramref name="model"/>. Converts conv weights to channels_last in place
    /// (new Parameter objects): call before collecting the model's parameters. Dispose removes the hooks.
    /// </summary>
    public static MixedPrecisionPolicy Attach(SegmentationModel model, PrecisionOptions options) => Attach(model, options, agree: null);

    /// <summary>
    /// As <see cref="Attach(SegmentationModel, PrecisionOptions)"/>, for one rank of a data-parallel group. A conv weight's
    /// memory layout is the element order of its gradient in the flat buffer the ranks sum (DataParallelTrainer binds each
    /// .grad to it strided like its parameter), and each rank probes its own device: ranks on CPUs of different ISAs could
    /// convert different convolutions and add (O, kh, kw, I)-ordered gradients to (O, I, kh, kw)-ordered ones.
    /// <paramref name="agree"/> therefore takes this rank's verdicts (per Conv2d in module order, true: wrong in
    /// channels_last) and returns the ones every rank applies; the trainer ORs them over its group.
    /// </summary>
    /// <param name="probe">Whether a convolution computes right in channels_last here; null: <see cref="ChannelsLastConvolutionCheck"/>
    /// (a test stands in another device's verdict).</param>
    internal static MixedPrecisionPolicy Attach(SegmentationModel model, PrecisionOptions options, Func<bool[], bool[]>? agree,
        Func<Conv2d, bool>? probe = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var policy = new MixedPrecisionPolicy(options);
        try
        {
            if (options.MemoryFormat == MemoryFormat.ChannelsLast) policy.AttachChannelsLast(model, options, agree, probe);
            if (options.Precision != PrecisionMode.Fp32) policy.AttachMixed(model, options);
        }
        catch
        {
            policy.Dispose();  // a layer it cannot cast: hand the model back without the hooks already added
            throw;
        }
        return policy;
    }

    /// <summary>Conv weights in NHWC strides where they compute right (settled over the ranks), and images converted on entry.</summary>
    private void AttachChannelsLast(SegmentationModel model, PrecisionOptions options, Func<bool[], bool[]>? agree, Func<Conv2d, bool>? probe)
    {
        var kernelType = EmulatesLowPrecision(model.parameters().First().device_type) ? ScalarType.Float32 : options.ComputeType;
        ConvertToChannelsLast(model, probe ?? new ChannelsLastConvolutionCheck(kernelType).Agrees, agree);
        var entry = model.register_forward_pre_hook((_, images) => ChannelsLastLayout.ToChannelsLast(images));
        _removers.Add(entry.remove);
    }

    /// <summary>What autocast does: convolutions and linear layers compute in the low precision (a classifier returns fp32),
    /// normalisation and spectral truncation take fp32 input, and the model's outputs leave in fp32.</summary>
    private void AttachMixed(SegmentationModel model, PrecisionOptions options)
    {
        var classifiers = model.Classifiers.ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var module in model.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    CastLayer(conv, options.ComputeType, fp32Output: classifiers.Contains(conv));
                    break;
                case Linear linear:
                    CastLayer(linear, options.ComputeType, fp32Output: false);
                    break;
                case NormBase or GroupNorm or LayerNorm or SpectralFeatureTruncation { Ratio: < 1 }:  // r = 1 is the identity
                    Fp32Input((nn.Module<Tensor, Tensor>)module);
                    break;
            }
        }
        var exit = model.register_forward_hook((_, _, output) => Fp32(output));
        _removers.Add(exit.remove);
    }

    /// <summary>loss × S for backward (fp16-mixed); <paramref name="loss"/> itself otherwise.</summary>
    public Tensor ScaleLoss(Tensor loss)
    {
        if (Scaler is null) return loss;
        using var scale = Scaler.Scale.ToScalar();  // held until the native call returns (see KeptScalars)
        return loss.mul(scale);
    }

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
    }

    /// <summary>Converts the conv weights that compute right in channels_last (<paramref name="agrees"/>, then as
    /// <paramref name="agree"/> settles it over the ranks); the others stay NCHW and get NCHW input.</summary>
    private void ConvertToChannelsLast(SegmentationModel model, Func<Conv2d, bool> agrees, Func<bool[], bool[]>? agree)
    {
        var convolutions = model.named_modules().Where(m => m.module is Conv2d).Select(m => (m.name, Conv: (Conv2d)m.module)).ToList();
        bool[] wrongHere = [.. convolutions.Select(c => !agrees(c.Conv))];
        var verdicts = agree?.Invoke(wrongHere) ?? wrongHere;
        if (verdicts.Length != wrongHere.Length)
            throw new InvalidOperationException($"the ranks' channels_last verdicts cover {verdicts.Length} convolutions; this model has {wrongHere.Length}.");
        var wrong = new HashSet<Conv2d>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < convolutions.Count; i++)
        {
            if (!verdicts[i]) continue;
            wrong.Add(convolutions[i].Conv);
            _contiguousConvolutions.Add(convolutions[i].name);
            var hook = convolutions[i].Conv.register_forward_pre_hook((_, input) => input.is_contiguous() ? input : input.contiguous());
            _removers.Add(hook.remove);
        }
        ChannelsLastLayout.ConvertWeights(model, conv => !wrong.Contains(conv));
    }

    /// <summary>
    /// Casts <paramref name="layer"/>'s input, weight and bias to <paramref name="type"/> for each call. The master cast is
    /// whatever the layer's field holds when the call starts: the fp32 parameter, or the gradient bucket's alias that
    /// the overlapped reduction's hooks (registered before these) put there, so backward still reaches the bucket.
    /// </summary>
    private void CastLayer(nn.Module<Tensor, Tensor> layer, ScalarType type, bool fp32Output)
    {
        var fields = CastableFields(layer);
        var masters = new Parameter?[fields.Count];
        var casts = new Parameter?[fields.Count];
        bool emulate = false;  // this call runs the fp32 kernel on rounded operands (CPU)
        bool swapped = false;
        void Restore()
        {
            if (!swapped) return;
            for (int i = 0; i < fields.Count; i++)
            {
                fields[i].Value = masters[i];
                casts[i]?.Dispose();  // the autograd graph holds its own reference to the cast
                masters[i] = casts[i] = null;
            }
            swapped = false;
        }
        var before = layer.register_forward_pre_hook((_, input) =>
        {
            Restore();  // a previous call that threw between the hooks
            emulate = EmulatesLowPrecision(input.device_type);
            for (int i = 0; i < fields.Count; i++)
            {
                masters[i] = fields[i].Value;
                casts[i] = Cast(masters[i], type, emulate);
            }
            for (int i = 0; i < fields.Count; i++) fields[i].Value = casts[i];  // only once every cast exists
            swapped = true;
            return KernelOperand(input, type, emulate);
        });
        var after = layer.register_forward_hook((_, _, output) =>
        {
            Restore();
            var result = emulate ? output.to(type) : output;  // one rounding of the fp32-accumulated output
            return fp32Output ? result.to(ScalarType.Float32) : result;
        });
        _removers.Add(() => { before.remove(); after.remove(); Restore(); });
    }

    /// <summary>The fields <paramref name="layer"/> reads its parameters from; throws when one is read from elsewhere.</summary>
    private static IReadOnlyList<ParameterField> CastableFields(nn.Module layer)
    {
        var fields = ParameterField.Of(layer);
        var held = fields.Select(f => f.Registered).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (name, parameter) in layer.named_parameters(recurse: false))
        {
            if (!held.Contains(parameter))
                throw new NotSupportedException(
                    $"{layer.GetType().Name}'s parameter '{name}' is held in no field in this TorchSharp build: mixed precision cannot cast it. Use precision fp32.");
        }
        return fields;
    }

    /// <summary>
    /// <paramref name="layer"/> computes from fp32 input: norms with their fp32 parameters, the spectral truncation's FFTs
    /// (autocast's fp32 list: group_norm, layer_norm, fft_rfft2, fft_irfft2).
    /// </summary>
    private void Fp32Input(nn.Module<Tensor, Tensor> layer)
    {
        // cuDNN's batch norm takes bf16/fp16 input with fp32 parameters and statistics: keep the cheaper input there.
        bool keepOnCuda = layer is StableBatchNorm2d and not Models.Normalization.SyncBatchNorm2d;
        var hook = layer.register_forward_pre_hook((_, input) =>
            input.dtype == ScalarType.Float32 || (keepOnCuda && input.device_type == DeviceType.CUDA) ? input : input.to(ScalarType.Float32));
        _removers.Add(hook.remove);
    }

    /// <summary>
    /// Where the low precision is emulated by fp32 kernels on rounded operands: on CPU, where libtorch's bf16/fp16
    /// convolutions accumulate in the low precision (see the class summary); CUDA runs the native kernels (fp32 accumulation).
    /// </summary>
    private static bool EmulatesLowPrecision(DeviceType device) => device == DeviceType.CPU;

    /// <summary>
    /// <paramref name="t"/> rounded to <paramref name="type"/>, handed to the kernel in that type or, emulating, as fp32
    /// holding the rounded values. Differentiable: backward rounds the gradient to <paramref name="type"/> once.
    /// </summary>
    private static Tensor KernelOperand(Tensor t, ScalarType type, bool emulate)
    {
        var rounded = t.dtype == type ? t : t.to(type);
        return emulate ? rounded.to(ScalarType.Float32) : rounded;
    }

    private static Parameter? Cast(Parameter? master, ScalarType type, bool emulate) =>
        master is null ? null : new Parameter(KernelOperand(master, type, emulate), master.requires_grad && is_grad_enabled());

    /// <summary>What losses and metrics read, in fp32. The pre-classifier Feature is left as computed: the wrappers that use
    /// it (§4, §5) read it inside their own forward, and an fp32 copy of a full decoder feature would be kept through
    /// backward for nothing (268 MB for DeepLabV3+ at 8×512×1024).</summary>
    private static SegmentationOutput Fp32(SegmentationOutput output)
    {
        static Tensor F(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to(ScalarType.Float32);
        return output with
        {
            Logits = F(output.Logits),
            Auxiliary = output.Auxiliary.Select(F).ToList(),
            Embedding = output.Embedding is { } e ? F(e) : null,
        };
    }
}
