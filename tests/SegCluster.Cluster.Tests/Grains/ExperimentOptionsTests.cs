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
        Assert.Equal("Experiments:WatchdogInterval 00:00:00 must be a positive time span, e.g. 00:00:30.", refused.FailureMessage);
    }
}
