namespace SegCluster.Abstractions.Messages;

/// <summary>One periodic validation during training (training.validate_every): the metrics after <see cref="Step"/> steps.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ValidationPoint")]
public sealed record ValidationPoint(
    [property: Id(0)] int Step,
    [property: Id(1)] EvaluationReport Evaluation);
