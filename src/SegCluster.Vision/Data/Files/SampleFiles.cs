namespace SegCluster.Vision.Data.Files;

/// <summary>One sample on disk: its image, its mask and how the mask is encoded.</summary>
/// <param name="Id">Stable name of the sample (file stem), used in error messages and reports.</param>
public sealed record SampleFiles(string Id, string ImagePath, string MaskPath, MaskEncoding Encoding);
