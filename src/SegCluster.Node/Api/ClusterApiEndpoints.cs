using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Node.Api;

/// <summary>
/// The node's HTTP API (JSON), the same operations as the CLI's Orleans client: submit, status, cancel, and the
/// scheduler's inventory. Behind <see cref="ClusterTokenMiddleware"/>.
/// </summary>
public static class ClusterApiEndpoints
{
    public static IEndpointRouteBuilder MapSegClusterApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/scheduler", (IGrainFactory grains) => Scheduler(grains).GetSnapshotAsync());
        api.MapGet("/experiments/{id}", (string id, IGrainFactory grains) => grains.GetGrain<IExperimentGrain>(id).GetStatusAsync());
        api.MapPost("/experiments/{id}", async (string id, ExperimentSpec spec, IGrainFactory grains) =>
        {
            try { return Results.Ok(await Scheduler(grains).SubmitAsync(id, spec)); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return Results.BadRequest(e.Message); }
        });
        api.MapPost("/experiments/{id}/cancel", async (string id, IGrainFactory grains) =>
        {
            await grains.GetGrain<IExperimentGrain>(id).CancelAsync();
            return Results.Ok(await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync());
        });
        return app;
    }

    private static ISchedulerGrain Scheduler(IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
}
