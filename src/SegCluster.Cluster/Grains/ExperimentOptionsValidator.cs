using Microsoft.Extensions.Options;

namespace SegCluster.Cluster.Grains;

/// <summary>Fails node start-up on invalid <see cref="ExperimentOptions"/>, naming the setting.</summary>
public sealed class ExperimentOptionsValidator : IValidateOptions<ExperimentOptions>
{
    public ValidateOptionsResult Validate(string? name, ExperimentOptions options) =>
        options.WatchdogInterval > TimeSpan.Zero && options.WatchdogInterval < TimeSpan.MaxValue
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Experiments:WatchdogInterval {options.WatchdogInterval} must be a positive time span, e.g. 00:00:30.");
}
