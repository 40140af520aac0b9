using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>spec.training: optimiser and schedule fields reach the trainer's options.</summary>
public sealed class TrainingScheduleSpecTests
{
    [Fact]
    public void Schedule_fields_map_to_the_optimizer_options()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("""
            workers: 1
            training: { steps: 100, learning_rate: 0.01, optimizer: adamw, warmup_steps: 10, warmup_ratio: 0.1,
                        min_learning_rate: 0.0001, max_grad_norm: 5, no_decay_on_norm_and_bias: true }
            """, SpecFormat.Yaml);
        Assert.Empty(spec.Validate());
        var options = SpecMapping.Optimizer(spec);
        Assert.Equal("adamw", options.Kind);
        Assert.Equal(5, options.MaxGradientNorm);
        Assert.True(options.NoDecayOnNormAndBias);
        Assert.Equal(100, options.TotalSteps);
        Assert.Equal(0.01 * 0.1 * (1 - 1e-2) + 1e-4 * 0.1, options.LearningRateAt(0), 12);  // warm-up start of poly
        Assert.Equal(1e-4, options.LearningRateAt(100), 12);
    }

    [Fact]
    public void The_default_is_poly_over_the_run()
    {
        var options = SpecMapping.Optimizer(new ExperimentSpec());
        Assert.Equal(new ExperimentSpec().Training.LearningRate, options.LearningRateAt(0), 12);
        Assert.Equal(0, options.LearningRateAt(new ExperimentSpec().TotalSteps), 12);
    }
}
