using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using Spectre.Console;

namespace SegCluster.Cli.Embedded;

/// <summary>
/// A progress bar over an experiment's steps, fed by polling its coordinator grain. Cancelling
/// <c>cancellationToken</c> (Ctrl+C) stops following and throws; what happens to the experiment is the caller's choice.
/// </summary>
public static class TrainingProgress
{
    public static async Task<ExperimentStatus> FollowAsync(IAnsiConsole console, IExperimentGrain experiment, TimeSpan interval, CancellationToken cancellationToken)
    {
        var status = await experiment.GetStatusAsync();
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask("training", maxValue: Math.Max(1, status.TotalSteps));
                while (!status.State.IsFinal())
                {
                    await Task.Delay(interval, cancellationToken);
                    try
                    {
                        status = await experiment.GetStatusAsync();
                    }
                    catch (Exception e) when (GrainRelocation.InProgress(e))
                    {
                        // The coordinator's node was lost; Orleans reactivates it elsewhere from Redis. Keep polling.
                        bar.Description = "coordinator moving";
                        continue;
                    }
                    bar.MaxValue = Math.Max(1, status.TotalSteps);  // 0 until a queued experiment starts
                    bar.Value = status.Step;
                    bar.Description = Describe(status);
                }
                bar.Value = status.State == ExperimentState.Completed ? bar.MaxValue : bar.Value;
            });
        return status;
    }

    /// <summary>The bar's text for one poll of the coordinator.</summary>
    public static string Describe(ExperimentStatus status) =>
        status.State == ExperimentState.Pending ? "queued: waiting for free workers"
        : status.Step == 0 ? "starting workers"
        : status.Step >= status.TotalSteps && !status.State.IsFinal() ? "evaluating"
        : $"step {status.Step}/{status.TotalSteps} loss {status.Loss:F3}" + Rate(status);

    // The first step of each ring is warm-up and not timed: until a later one is, there is no rate to show.
    private static string Rate(ExperimentStatus status) => status.ImagesPerSecond > 0 ? $" {status.ImagesPerSecond:F1} img/s" : "";
}
