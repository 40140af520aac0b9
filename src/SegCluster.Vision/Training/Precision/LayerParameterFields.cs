using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// The fields a TorchSharp Conv2d or Linear reads its weight and bias from in forward (<c>_weight</c>, <c>_bias</c>).
/// The public setters dispose the previous Parameter and re-register the new one, which would free the fp32
/// master; writing the fields directly swaps what one forward call sees and nothing else (no state-dict change).
/// </summary>
internal sealed class LayerParameterFields
{
    private readonly FieldInfo _weight;
    private readonly FieldInfo? _bias;

    private LayerParameterFields(FieldInfo weight, FieldInfo? bias)
    {
        _weight = weight;
        _bias = bias;
    }

    public static LayerParameterFields Of(Type layer)
    {
        var weight = Find(layer, "_weight")
            ?? throw new NotSupportedException(
                $"{layer.Name} has no '_weight' field in this TorchSharp build: mixed precision cannot cast its weight. Use precision fp32.");
        return new LayerParameterFields(weight, Find(layer, "_bias"));
    }

    public Parameter? Weight(nn.Module layer) => (Parameter?)_weight.GetValue(layer);

    public Parameter? Bias(nn.Module layer) => (Parameter?)_bias?.GetValue(layer);

    public void Set(nn.Module layer, Parameter? weight, Parameter? bias)
    {
        _weight.SetValue(layer, weight);
        _bias?.SetValue(layer, bias);
    }

    private static FieldInfo? Find(Type type, string name)
    {
        for (var t = type; t is not null; t = t.BaseType)
            if (t.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is { } field
                && field.FieldType == typeof(Parameter))
                return field;
        return null;
    }
}
