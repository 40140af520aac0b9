using Microsoft.Extensions.Options;

namespace SegCluster.Cluster.Grains;

/// <summary>Fails node start-up on invalid <see cref="ExperimentOptions"/>, naming the setting.</summary>
public sealed class ExperimentOptionsValidator : IValidateOptions<ExperimentOptions>
{
    /// <summary>The longest period a grain timer takes (as System.Threading.Timer: 0xFFFFFFFE ms, about 49.7 days); a longer one
    /// passed start-up and then threw in every coordinator activation.</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(0xFFFFFFFE);

    public ValidateOptionsResult Validate(string? name, ExperimentOptions options) =>
        options.WatchdogInterval > TimeSpan.Zero && options.WatchdogInterval <= MaxInterval
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Experiments:WatchdogInterval {options.WatchdogInterval} must be a positive time span of at most {MaxInterval} (a grain timer's longest), e.g. 00:00:30.");
}
