using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>Values at the edges of the spec's ranges: a dataset folder that exists only on the nodes.</summary>
public sealed class SpecEdgeCaseTests
{
    [Fact]
    public void A_dataset_folder_missing_on_the_client_passes_the_text_checks()
    {
        // Submitting to a cluster validates on the laptop; the folder need only exist on the nodes (DatasetSpecResolver).
        var spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = "/data/on/the/nodes", Height = 16, Width = 16 } };
        Assert.Empty(spec.Validate());
        Assert.StartsWith("dataset.path: empty;", Assert.Single((spec with { Dataset = spec.Dataset with { Path = " " } }).Validate()), StringComparison.Ordinal);
    }
}
