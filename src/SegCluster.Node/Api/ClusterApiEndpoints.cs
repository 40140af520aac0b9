using Microsoft.AspNetCore.Http.Features;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Node.Api;

/// <summary>
/// The node's HTTP API (JSON), the same operations as the CLI's Orleans client: submit, status, cancel, and the
/// scheduler's inventory. Behind <see cref="ClusterTokenMiddleware"/>. An id with '/' (allowed by
/// <see cref="RunIds"/>) travels escaped as %2F in its one path segment.
/// </summary>
public static class ClusterApiEndpoints
{
    /// <summary>Largest spec body accepted; a spec is a few kilobytes.</summary>
    public const int MaxSpecBytes = 1 << 20;

    public static IEndpointRouteBuilder MapSegClusterApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/scheduler", (IGrainFactory grains) => Scheduler(grains).GetSnapshotAsync());
        api.MapGet("/experiments/{id}", async (string id, IGrainFactory grains) =>
            await ExperimentLookup.FindAsync(grains, RunId(id)) is { } found ? Results.Ok(found.Status) : Unknown(RunId(id)));
        api.MapPost("/experiments/{id}", async (string id, HttpRequest request, IGrainFactory grains) =>
        {
            ExperimentSpec spec;
            try { spec = await ReadSpecAsync(request); }
            catch (SpecFileException e) { return Results.BadRequest(e.Message); }
            try { return Results.Ok(await Scheduler(grains).SubmitAsync(RunId(id), spec)); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return Results.BadRequest(e.UserMessage()); }
        });
        api.MapPost("/experiments/{id}/cancel", async (string id, IGrainFactory grains) =>
        {
            // The grain of any id answers: cancelling an id nobody submitted would record it as a cancelled run.
            id = RunId(id);
            if (await ExperimentLookup.FindAsync(grains, id) is null) return Unknown(id);
            await grains.GetGrain<IExperimentGrain>(id).CancelAsync();
            return Results.Ok(await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync());
        });
        return app;
    }

    /// <summary>
    /// The body as a spec document, read as spec files are (snake_case keys, unknown keys and wrong types refused with
    /// the field named): JSON, or YAML when the content type says so.
    /// </summary>
    private static async Task<ExperimentSpec> ReadSpecAsync(HttpRequest request)
    {
        const string source = "request body";
        if (request.ContentLength > MaxSpecBytes)
            throw new SpecFileException(source, [$"{request.ContentLength} bytes; a spec may have at most {MaxSpecBytes}."]);
        // A chunked body declares no length: without this Kestrel reads up to its own limit (30 MB) before the check below.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxSpecBytes;
        using var reader = new StreamReader(request.Body);
        string text;
        try { text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { throw TooLong(); }
        if (text.Length > MaxSpecBytes)
            throw TooLong();
        var format = request.ContentType?.Contains("yaml", StringComparison.OrdinalIgnoreCase) == true ? SpecFormat.Yaml : SpecFormat.Json;
        return SpecFiles.FromTree<ExperimentSpec>(SpecFiles.ParseDocument(text, format, source), source);

        static SpecFileException TooLong() => new(source, [$"longer than {MaxSpecBytes} bytes; a spec is a few kilobytes."]);
    }

    /// <summary>The run id of a route value: routing leaves an escaped '/' (%2F) escaped.</summary>
    private static string RunId(string routeValue) => Uri.UnescapeDataString(routeValue);

    private static IResult Unknown(string id) =>
        Results.NotFound($"No experiment '{id}': it was never submitted to this cluster (nor is it queued).");

    private static ISchedulerGrain Scheduler(IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
}
