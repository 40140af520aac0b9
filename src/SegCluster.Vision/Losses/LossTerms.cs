using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// The local, un-normalised pieces of the loss: for each term t (0 = final logits, then one per
/// auxiliary prediction) the sum of per-pixel cross-entropy over this rank's valid pixels, their
/// count (the total soft mass Σ Ỹ for a soft-label term, fractional when cells are partly ignore), and
/// the term's weight. Normalising by GLOBAL counts (summed over all ranks) makes W ranks × batch b exactly
/// equivalent to one rank × batch W·b, ignore pixels included.
/// </summary>
/// <param name="Sums">Scalar tensors with autograd history, one per term.</param>
/// <param name="Counts">Local non-ignore pixel count of each term (at that term's grid), a soft term's soft mass: float64
/// scalar tensors on the loss's device, so a step reads them all at once (<see cref="Read"/>), not one sync per term.</param>
/// <param name="Weights">w_t.</param>
public sealed record LossTerms(IReadOnlyList<Tensor> Sums, IReadOnlyList<Tensor> Counts, IReadOnlyList<double> Weights)
{
    /// <summary>Number of terms.</summary>
    public int Count => Sums.Count;

    /// <summary>A count known on the host (a pixel or image total) as a term count on <paramref name="device"/>, filled there
    /// (a tensor made from host memory would be a host-to-device copy, and a stream synchronisation, per step).</summary>
    public static Tensor Constant(double count, Device device)
    {
        using var value = count.ToScalar();  // held for the native call (see KeptScalars)
        return full(Array.Empty<long>(), value, ScalarType.Float64, device);
    }

    /// <summary>Every term's count and (detached) sum in one host readback: on a GPU one wait for the stream, where a
    /// read per value waited once per term. Counts stay exact (float64); a sum is its float32 value.</summary>
    public (double[] Counts, double[] Sums) Read()
    {
        var all = ToHost([.. Counts, .. Sums]);
        return (all[..Count], all[Count..]);
    }

    /// <summary>The counts alone, read back at once (single-process losses, tests).</summary>
    public double[] ReadCounts() => ToHost(Counts);

    /// <summary>Scalar tensors as float64 values on the host, in one readback.</summary>
    private static double[] ToHost(IReadOnlyList<Tensor> scalars)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return stack([.. scalars.Select(s => s.to(ScalarType.Float64))]).cpu().data<double>().ToArray();
    }
}
