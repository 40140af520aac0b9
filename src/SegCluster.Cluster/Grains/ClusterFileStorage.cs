using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace SegCluster.Cluster.Grains;

/// <summary>Every storage provider of <see cref="ClusterStorage.All"/> in files under one folder (Node:StateDirectory), each
/// provider in its own sub-folder: a node without Redis that keeps its sweeps and experiments across restarts.</summary>
public static class ClusterFileStorage
{
    public static ISiloBuilder AddSegClusterFileGrainStorage(this ISiloBuilder silo, string folder)
    {
        foreach (var name in ClusterStorage.All)
            silo.Services.AddGrainStorage(name, (services, provider) => new FileGrainStorage(
                Path.Combine(folder, provider), new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>())));
        return silo;
    }
}
