using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// The host array the reducer sums (the collectives work on host memory), reused every step. On CPU the trainer's
/// flat gradient is <see cref="SharedGradient"/>, a tensor over the array itself, so there is nothing to copy; a CUDA
/// gradient goes through one pinned staging tensor, so the device↔host copies run at full PCIe speed and nothing is
/// allocated per step.
/// </summary>
public sealed class HostGradientBuffer : IDisposable
{
    private readonly Tensor? _pinned;

    public HostGradientBuffer(long length, Device device)
    {
        Values = new float[checked((int)length)];
        if (device.type == TorchSharp.DeviceType.CUDA)
        {
            using var pageable = empty(length, ScalarType.Float32);
            _pinned = pageable.pin_memory().DetachFromDisposeScope();
        }
        else if (device.type == TorchSharp.DeviceType.CPU)
        {
            // frombuffer shares the array (no copy) and keeps it pinned until the storage is freed.
            SharedGradient = frombuffer(Values, ScalarType.Float32, length, 0, requires_grad: false).DetachFromDisposeScope();
        }
    }

    /// <summary>CPU: a flat float32 tensor whose memory is <see cref="Values"/>, for the trainer to use as its gradient
    /// (its <see cref="Download"/> and <see cref="Upload"/> then copy nothing); null on other devices.</summary>
    public Tensor? SharedGradient { get; }

    /// <summary>What the reducer sums in place.</summary>
    public float[] Values { get; }

    /// <summary>Copies <paramref name="gradient"/> (flat, float32, any device) into <see cref="Values"/>.</summary>
    public void Download(Tensor gradient) => Download(gradient, 0, Values.Length);

    /// <summary>Copies elements [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of
    /// <paramref name="gradient"/> into the same elements of <see cref="Values"/> (one bucket, during backward).</summary>
    public void Download(Tensor gradient, int offset, int length)
    {
        if (ReferenceEquals(gradient, SharedGradient)) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var staging = _pinned?.narrow(0, offset, length);
        staging?.copy_(gradient.narrow(0, offset, length));
        using var source = (staging ?? gradient.narrow(0, offset, length)).data<float>();
        source.CopyTo(Values, offset);
    }

    /// <summary>Copies <see cref="Values"/> back into <paramref name="gradient"/>.</summary>
    public void Upload(Tensor gradient)
    {
        if (ReferenceEquals(gradient, SharedGradient)) return;
        using (var host = (_pinned ?? gradient).data<float>())
            host.CopyFrom(Values);
        if (_pinned is null) return;
        using var noGrad = no_grad();
        gradient.copy_(_pinned);
    }

    public void Dispose()
    {
        _pinned?.Dispose();
        SharedGradient?.Dispose();
    }
}
