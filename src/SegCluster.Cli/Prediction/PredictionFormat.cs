namespace SegCluster.Cli.Prediction;

/// <summary>How `segcluster predict` writes label images.</summary>
public static class PredictionFormat
{
    /// <summary>Grey PNG of train ids (0..K-1).</summary>
    public const string TrainId = "trainid";
    /// <summary>Grey PNG of Cityscapes label ids, the format of its evaluation server (19-class Cityscapes checkpoints only).</summary>
    public const string CityscapesLabelId = "cityscapes-labelid";

    public static IReadOnlyList<string> Names { get; } = [TrainId, CityscapesLabelId];
}
