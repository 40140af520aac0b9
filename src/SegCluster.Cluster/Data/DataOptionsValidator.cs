using Microsoft.Extensions.Options;

namespace SegCluster.Cluster.Data;

/// <summary>Fails node start-up on invalid <see cref="DataOptions"/>, naming the setting.</summary>
public sealed class DataOptionsValidator : IValidateOptions<DataOptions>
{
    public ValidateOptionsResult Validate(string? name, DataOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
