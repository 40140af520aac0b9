using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>Fields of an experiment's status as the node's HTTP API returns it (GET /api/experiments/{id}).</summary>
internal static class ClusterStatusJson
{
    public static bool IsFinal(JsonElement status) => status.GetProperty("state").GetString() is "Completed" or "Failed" or "Cancelled";

    /// <summary>The step of the last good checkpoint, 0 before the first.</summary>
    public static int Checkpoint(JsonElement status) =>
        status.GetProperty("checkpoint") is { ValueKind: JsonValueKind.Object } c ? c.GetProperty("step").GetInt32() : 0;

    public static string CheckpointPath(JsonElement status) => status.GetProperty("checkpoint").GetProperty("path").GetString()!;

    /// <summary>Workers of the current formation, "{node}/{index}".</summary>
    public static List<string> Workers(JsonElement status) =>
        [.. status.GetProperty("workerIds").EnumerateArray().Select(w => w.GetString()!)];

    public static string NodeOf(string workerId) => workerId.Split('/')[0];
}
