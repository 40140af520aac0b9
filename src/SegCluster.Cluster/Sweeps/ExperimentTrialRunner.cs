using Microsoft.Extensions.Options;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// The default trial runner: starts the trial as an <see cref="IExperimentGrain"/> on its workers, follows its step
/// losses every <see cref="SweepOptions.PollInterval"/>, reports their moving mean, and cancels the experiment when
/// the sweep stops the trial or is cancelled.
/// </summary>
public sealed class ExperimentTrialRunner(IGrainFactory grains, IOptions<SweepOptions> options) : ITrialRunner
{
    public async Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        var experiment = grains.GetGrain<IExperimentGrain>(launch.ExperimentId);
        try
        {
            await experiment.StartAsync(launch.Spec, launch.Workers);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return new TrialOutcome(TrialState.Failed, 0, double.NaN, Error: e.Message);
        }

        var loss = new MovingMean(options.Value.LossWindow);
        var step = 0;
        while (true)
        {
            try
            {
                await Task.Delay(options.Value.PollInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await experiment.CancelAsync();
                return new TrialOutcome(TrialState.Cancelled, step, loss.Value, Error: "the sweep was cancelled");
            }
            // Status before losses: once the status is final, every step's loss has been reported.
            var status = await experiment.GetStatusAsync();
            foreach (var point in await experiment.GetLossesAsync(step))
            {
                step = point.Step;
                loss.Add(point.Value);
                if (!progress(new TrialProgress(step, loss.Value)))
                {
                    await experiment.CancelAsync();
                    return new TrialOutcome(TrialState.Stopped, step, loss.Value);
                }
            }
            if (!status.State.IsFinal()) continue;
            return status.State switch
            {
                ExperimentState.Completed => new TrialOutcome(TrialState.Completed, step, loss.Value, status.Evaluation),
                ExperimentState.Cancelled => new TrialOutcome(TrialState.Cancelled, step, loss.Value, Error: "the experiment was cancelled"),
                _ => new TrialOutcome(TrialState.Failed, step, loss.Value, Error: status.Error),
            };
        }
    }

    public Task AbandonAsync(string experimentId) => grains.GetGrain<IExperimentGrain>(experimentId).CancelAsync();
}
