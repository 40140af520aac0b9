namespace SegCluster.Collectives;

/// <summary>Element format of ring payloads on the wire (<see cref="CollectiveOptions.Wire"/>); sums are always accumulated in fp32.</summary>
public enum WireFormat
{
    /// <summary>float32 as given: the sum is exact up to fp32 rounding and the same on every transport.</summary>
    Fp32,

    /// <summary>
    /// IEEE half precision: half the bytes. Each hop rounds to fp16 (11 significant bits; magnitudes above
    /// 65504 become ±infinity, below ~6e-8 zero), so a sum carries about W roundings; ranks stay bit-identical.
    /// Each rank's values are divided by the power of two P ≥ W before the ring and the sum multiplied by P after
    /// (exact scalings): partial sums then stay within the largest input, so the sum overflows only where an
    /// input alone would, as with PyTorch's fp16_compress_hook dividing by the world size (which matters for
    /// loss-scaled fp16-mixed gradients); in exchange the bottom of the range moves up by P.
    /// Applies to buffers of at least <see cref="CollectiveOptions.Fp16MinLength"/> floats (gradients, parameter
    /// broadcasts); shorter ones travel in fp32. TCP transport only.
    /// </summary>
    Fp16,
}
