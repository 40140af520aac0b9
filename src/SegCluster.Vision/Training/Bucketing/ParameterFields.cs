using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training.Bucketing;

/// <summary>
/// Where layers read each parameter from in forward: the instance fields (TorchSharp's Conv2d <c>_weight</c>, a model's
/// <c>Parameter</c> property's backing field, ...) that hold the registered Parameter object itself. Writing such a field
/// changes what one forward call uses and nothing else; the registered parameter, its state-dict entry and its grad stay.
/// A parameter no field holds (read through the module's parameter dictionary) cannot be substituted.
/// </summary>
internal sealed class ParameterFields
{
    private readonly Dictionary<Parameter, List<(nn.Module Owner, FieldInfo Field)>> _fields = new(ReferenceEqualityComparer.Instance);

    public ParameterFields(nn.Module model)
    {
        foreach (var module in model.modules().Prepend(model).Distinct())
        {
            var registered = module.named_parameters(recurse: false).Select(p => p.parameter).ToHashSet(ReferenceEqualityComparer.Instance);
            if (registered.Count == 0) continue;
            for (var type = module.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
            {
                foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (!field.FieldType.IsAssignableFrom(typeof(Parameter)) || field.GetValue(module) is not Parameter p || !registered.Contains(p)) continue;
                    if (!_fields.TryGetValue(p, out var holders)) _fields[p] = holders = [];
                    holders.Add((module, field));
                }
            }
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
        foreach (var (owner, field) in _fields[parameter]) field.SetValue(owner, value);
    }
}
