namespace SegCluster.Abstractions.Messages;

[GenerateSerializer, Alias("SegCluster.ExperimentState")]
public enum ExperimentState { Pending, Running, Completed, Failed, Cancelled }

public static class ExperimentStateExtensions
{
    public static bool IsFinal(this ExperimentState state) =>
        state is ExperimentState.Completed or ExperimentState.Failed or ExperimentState.Cancelled;
}
