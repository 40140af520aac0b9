using TorchSharp;

namespace SegCluster.Vision;

/// <summary>
/// Scalars that live as long as the process. TorchSharp 0.107 turns a number passed where libtorch wants a Scalar
/// (<c>t * 0.5</c>, <c>t.clamp_min(0)</c>, <c>masked_fill(m, 0)</c>, <c>t + 0.5</c>) into a native object that only its
/// finalizer frees, and <c>add</c>, <c>add_</c> and the + operator add one more for their implicit alpha = 1. Nothing
/// keeps that object reachable while the native op reads it, so a collection on another thread can free it mid-call
/// (libtorch "toFloat" / "alpha_check" failures; docs/platform.md, `segcluster-bench scalar-stress`).
/// <para>
/// The rule for src: never pass a bare number or rely on an implicit alpha on the training, evaluation or
/// inference paths. Constants come from here (or a class's own <c>static readonly Scalar</c> when only it uses
/// one); values computed at run time are held with <c>using var s = value.ToScalar();</c> until the call returns;
/// <c>a + b</c> on tensors is written <c>a.add(b, KeptScalars.One)</c> (tensor − tensor, ×, ÷ have no alpha), and x² is
/// <c>x.pow(KeptScalars.Two)</c>: TorchSharp's own <c>square()</c> makes the temporary inside.
/// </para>
/// </summary>
internal static class KeptScalars
{
    /// <summary>0 as an integer: a fill value and a lower bound for floating and integer tensors alike.</summary>
    public static readonly Scalar Zero = 0L.ToScalar();

    /// <summary>1 as an integer: a valid alpha (and value) for floating and integer tensors alike.</summary>
    public static readonly Scalar One = 1L.ToScalar();

    /// <summary>2 as an integer: the exponent of x² (<c>Tensor.square()</c> is <c>pow(2)</c> with a temporary Scalar in 0.107).</summary>
    public static readonly Scalar Two = 2L.ToScalar();

    /// <summary>½: a threshold between 0 and 1 masks, and pixel centres at j + ½.</summary>
    public static readonly Scalar Half = 0.5.ToScalar();

    /// <summary>Smallest denominator of a label-mass ratio: keeps fractions of an all-ignored cell at 0 instead of NaN.</summary>
    public static readonly Scalar MassFloor = 1e-12.ToScalar();
}
