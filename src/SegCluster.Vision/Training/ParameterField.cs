using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// An instance field a layer reads one of its parameters from in forward (TorchSharp's Conv2d/Linear <c>_weight</c> and
/// <c>_bias</c>, a model's <c>Parameter</c> property's backing field, ...). The public setters dispose the previous
/// Parameter and re-register the new one; writing the field directly changes what forward calls use and nothing else:
/// the registered parameter, its state-dict entry and its grad stay. Used to substitute a parameter for the calls of one
/// step: a gradient bucket's alias (Bucketing) and a low-precision cast of the fp32 master (Precision).
/// </summary>
internal sealed class ParameterField(nn.Module owner, FieldInfo holder, Parameter registered)
{
    /// <summary>The module holding the field.</summary>
    public nn.Module Owner { get; } = owner;

    /// <summary>The registered parameter the field held when it was found.</summary>
    public Parameter Registered { get; } = registered;

    /// <summary>What forward reads now: <see cref="Registered"/>, or a substitute someone set.</summary>
    public Parameter? Value
    {
        get => (Parameter?)holder.GetValue(Owner);
        set => holder.SetValue(Owner, value);
    }

    /// <summary>
    /// The fields of <paramref name="module"/> itself (not its children) that hold one of its registered parameters.
    /// A registered parameter no field holds (read through the module's parameter dictionary) has none.
    /// </summary>
    public static IReadOnlyList<ParameterField> Of(nn.Module module)
    {
        var registered = module.named_parameters(recurse: false).Select(p => p.parameter).ToHashSet(ReferenceEqualityComparer.Instance);
        var fields = new List<ParameterField>();
        if (registered.Count == 0) return fields;
        for (var type = module.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
        {
            foreach (var info in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (info.FieldType.IsAssignableFrom(typeof(Parameter)) && info.GetValue(module) is Parameter p && registered.Contains(p))
                    fields.Add(new ParameterField(module, info, p));
            }
        }
        return fields;
    }
}
