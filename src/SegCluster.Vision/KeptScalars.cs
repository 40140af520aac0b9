using TorchSharp;

namespace SegCluster.Vision;

/// <summary>
/// Scalars that live as long as the process. TorchSharp turns a number passed where libtorch wants a Scalar (a value,
/// or the implicit alpha = 1 of <c>add</c> and the + operator) into a native object that its finalizer
/// frees; nothing keeps it reachable while the native op reads it, so a collection on another thread can free it
/// mid-call (libtorch "toFloat" / "alpha_check" failures: README "Platform notes"). Hot paths pass these instead.
/// </summary>
internal static class KeptScalars
{
    /// <summary>1 as an integer: a valid alpha (and value) for floating and integer tensors alike.</summary>
    public static readonly Scalar One = 1L.ToScalar();
}
