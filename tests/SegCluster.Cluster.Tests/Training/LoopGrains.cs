using System.Reflection;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>The <see cref="IGrainFactory"/> a worker loop under test calls: its experiment grain (the test's proxy) and a
/// dataset shard that deals, every epoch, sample i of the train split to rank i mod the world size.</summary>
public class LoopGrains : DispatchProxy
{
    private IExperimentGrain? _experiment;
    private int _trainCount;

    public static IGrainFactory Of(IExperimentGrain experiment, int trainCount)
    {
        var factory = DispatchProxy.Create<IGrainFactory, LoopGrains>();
        (((LoopGrains)(object)factory)._experiment, ((LoopGrains)(object)factory)._trainCount) = (experiment, trainCount);
        return factory;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args) =>
        method?.Name != nameof(IGrainFactory.GetGrain) || !method.IsGenericMethod ? throw new NotSupportedException(method?.Name)
        : method.GetGenericArguments()[0] == typeof(IExperimentGrain) ? _experiment
        : method.GetGenericArguments()[0] == typeof(IDatasetShardGrain) ? Shard.Of(_trainCount)
        : throw new NotSupportedException(method.GetGenericArguments()[0].Name);

    public class Shard : DispatchProxy
    {
        private int _trainCount;

        public static IDatasetShardGrain Of(int trainCount)
        {
            var shard = DispatchProxy.Create<IDatasetShardGrain, Shard>();
            ((Shard)(object)shard)._trainCount = trainCount;
            return shard;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) => method?.Name switch
        {
            // (epoch, rank, world size)
            nameof(IDatasetShardGrain.GetEpochSamplesAsync) =>
                Task.FromResult(Enumerable.Range(0, _trainCount).Where(i => i % (int)args![2]! == (int)args[1]!).ToArray()),
            _ => throw new NotSupportedException(method?.Name),
        };
    }
}
