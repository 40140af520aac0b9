using SegCluster.Cluster.Grains;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>Experiments settings: the watchdog's period must be positive, and the message names the setting.</summary>
public sealed class ExperimentOptionsTests
{
    [Fact]
    public void A_watchdog_interval_that_is_not_positive_is_named()
    {
        var validator = new ExperimentOptionsValidator();
        Assert.True(validator.Validate(null, new ExperimentOptions()).Succeeded);
        var refused = validator.Validate(null, new ExperimentOptions { WatchdogInterval = TimeSpan.Zero });
        Assert.StartsWith("Experiments:WatchdogInterval 00:00:00 must be a positive time span of at most 49.17:02:47.294", refused.FailureMessage);
        // Longer than a grain timer takes: it passed start-up and then threw in every coordinator activation.
        Assert.True(validator.Validate(null, new ExperimentOptions { WatchdogInterval = TimeSpan.FromDays(100) }).Failed);
        Assert.True(validator.Validate(null, new ExperimentOptions { WatchdogInterval = TimeSpan.FromDays(49) }).Succeeded);
    }
}
