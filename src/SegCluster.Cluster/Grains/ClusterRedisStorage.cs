using Microsoft.Extensions.DependencyInjection;
using Orleans.Persistence;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Grain state in Redis, written with the Orleans serializer (the one grain messages use): every persisted record
/// is a [GenerateSerializer] type, so whatever a grain can send it can also store, collection expressions included.
/// The provider's default, Newtonsoft JSON with "$type" names, could not read back the compiler-generated list types
/// of `[.. x]` assigned to IReadOnlyList (a coordinator then failed to reactivate on another node).
/// Records written by that default before (JSON) are still read: the old serializer is the fallback for reading.
/// </summary>
public static class ClusterRedisStorage
{
    /// <summary>Every storage provider of <see cref="ClusterStorage.All"/> on <paramref name="redis"/>.</summary>
    public static ISiloBuilder AddSegClusterRedisGrainStorage(this ISiloBuilder silo, ConfigurationOptions redis)
    {
        foreach (var name in ClusterStorage.All)
            silo.AddRedisGrainStorage(name, options => options.Configure<IServiceProvider>((o, services) =>
            {
                o.ConfigurationOptions = redis;
                o.GrainStorageSerializer = Serializer(services);
            }));
        return silo;
    }

    /// <summary>Writes with the Orleans serializer; reads it, or else the provider default's JSON (records from before).</summary>
    public static IGrainStorageSerializer Serializer(IServiceProvider services) => new GrainStorageSerializer(
        new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>()),
        services.GetRequiredService<IGrainStorageSerializer>());
}
