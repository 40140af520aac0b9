using TorchSharp.Modules;

namespace SegCluster.Vision.Training.Optimizers;

/// <summary>
/// A trainable parameter's place in the trainer's flat gradient and optimiser state (elements
/// [<paramref name="Offset"/>, <paramref name="Offset"/> + <paramref name="Length"/>), in parameter order),
/// with its own weight decay (0 for norms and biases when they are exempt).
/// </summary>
public sealed record ParameterSlice(Parameter Parameter, long Offset, long Length, double Decay)
{
    /// <summary>The parameters end to end, each with <paramref name="decay"/>'s value for it.</summary>
    public static ParameterSlice[] Layout(IReadOnlyList<Parameter> parameters, Func<Parameter, double> decay)
    {
        var slices = new ParameterSlice[parameters.Count];
        long offset = 0;
        for (int i = 0; i < slices.Length; i++)
        {
            var p = parameters[i];
            slices[i] = new ParameterSlice(p, offset, p.numel(), decay(p));
            offset += p.numel();
        }
        return slices;
    }
}
