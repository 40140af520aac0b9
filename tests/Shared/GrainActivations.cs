namespace SegCluster.Tests.Shared;

/// <summary>What the cluster's management grain says of a grain class's activations (asking does not activate it).</summary>
internal static class GrainActivations
{
    public static async Task<int> CountAsync(IGrainFactory grains, Type grainClass)
    {
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        // GrainType is "Namespace.Class,Assembly".
        return statistics.Where(s => s.GrainType.StartsWith(grainClass.FullName + ",", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }
}
