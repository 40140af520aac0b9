using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Every <see cref="ParameterField"/> of a model, by the parameter it holds: where forward reads each parameter from, so
/// a bucket's aliases can stand in for its parameters. A parameter no field holds cannot be substituted.
/// </summary>
internal sealed class ParameterFields
{
    private readonly Dictionary<Parameter, List<ParameterField>> _fields = new(ReferenceEqualityComparer.Instance);

    public ParameterFields(nn.Module model)
    {
        foreach (var field in model.modules().Prepend(model).Distinct().SelectMany(ParameterField.Of))
        {
            if (!_fields.TryGetValue(field.Registered, out var holders)) _fields[field.Registered] = holders = [];
            holders.Add(field);
        }
    }

    /// <summary>The modules holding <paramref name="parameter"/> in a field (none when it cannot be substituted).</summary>
    public IEnumerable<nn.Module> Owners(Parameter parameter) =>
        _fields.TryGetValue(parameter, out var holders) ? holders.Select(h => h.Owner).Distinct() : [];

    /// <summary>True when forward reads <paramref name="parameter"/> from a field only.</summary>
    public bool CanSubstitute(Parameter parameter) => _fields.ContainsKey(parameter);

    /// <summary>Makes every field holding <paramref name="parameter"/> hold <paramref name="value"/> instead.</summary>
    public void Set(Parameter parameter, Parameter value)
    {
        foreach (var field in _fields[parameter]) field.Value = value;
    }
}
