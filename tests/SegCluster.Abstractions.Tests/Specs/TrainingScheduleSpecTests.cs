using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Abstractions.Tests.Specs;

/// <summary>spec.training: bad optimiser and schedule values name the field.</summary>
public sealed class TrainingScheduleSpecTests
{
    [Theory]
    [InlineData("optimizer", "adam", "training.optimizer")]
    [InlineData("lr_policy", "cosine", "training.lr_policy")]
    [InlineData("warmup_ratio", "0", "training.warmup_ratio")]
    [InlineData("max_grad_norm", "-1", "training.max_grad_norm")]
    [InlineData("accumulation_steps", "3", "training.accumulation_steps")]
    [InlineData("validate_every", "-1", "training.validate_every")]
    [InlineData("best_metric", "loss", "training.best_metric")]
    public void Bad_values_name_the_field(string key, string value, string field)
    {
        var spec = SpecFiles.Parse<ExperimentSpec>($"training:\n  {key}: {value}\n", SpecFormat.Yaml);
        Assert.Contains(spec.Validate(), e => e.StartsWith(field, StringComparison.Ordinal));
    }
}
