using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Abstractions.Tests.Specs.Files;

/// <summary>Spec documents: YAML and JSON give the same spec; every mistake names the field.</summary>
public sealed class SpecFilesTests
{
    private const string Yaml = """
        # a small run
        name: tiny
        seed: 7
        workers: 1
        dataset: { height: 32, width: 32, train_count: 16 }
        training:
          steps: 5
          learning_rate: 1e-2
          epochs: null
        labels:
          mode: soft-kl
          factor: 4
        """;

    [Fact]
    public void Yaml_and_json_give_the_same_spec()
    {
        var fromYaml = SpecFiles.Parse<ExperimentSpec>(Yaml, SpecFormat.Yaml);
        Assert.Equal("tiny", fromYaml.Name);
        Assert.Equal(7, fromYaml.Seed);
        Assert.Equal(32, fromYaml.Dataset.Height);
        Assert.Equal(0.01, fromYaml.Training.LearningRate);
        Assert.Equal(LabelsSpec.SoftKl, fromYaml.Labels.Mode);
        Assert.Equal(new TrainingSpec().Momentum, fromYaml.Training.Momentum); // unset fields keep defaults

        var json = SpecFiles.ToJson(fromYaml);
        var fromJson = SpecFiles.Parse<ExperimentSpec>(json, SpecFormat.Json);
        Assert.Equal(json, SpecFiles.ToJson(fromJson));
        Assert.Equal(fromYaml.Labels, fromJson.Labels);
        Assert.Equal(fromYaml.Training, fromJson.Training);
    }

    [Fact]
    public void Camel_case_keys_are_accepted()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("""{ "training": { "learningRate": 0.2, "batchPerWorker": 2 } }""", SpecFormat.Json);
        Assert.Equal(0.2, spec.Training.LearningRate);
        Assert.Equal(2, spec.Training.BatchPerWorker);
    }

    [Theory]
    [InlineData("training:\n  stepz: 5\n", "training.stepz: unknown field (did you mean 'steps'?); valid fields here: steps, epochs")]
    [InlineData("training:\n  lr: 0.1\n", "training.lr: unknown field (did you mean 'learning_rate'?); valid fields")]
    [InlineData("training:\n  batch_size: 4\n", "training.batch_size: unknown field (did you mean 'batch_per_worker'?)")]
    [InlineData("training:\n  optimiser: adamw\n", "training.optimiser: unknown field (did you mean 'optimizer'?)")]
    [InlineData("training:\n  schedule: poly\n", "training.schedule: unknown field; valid fields here")]  // nothing close: no guess
    [InlineData("training:\n  steps: many\n", "training.steps: expected an integer, got \"many\"")]
    [InlineData("training:\n  steps: 2.5\n", "training.steps: expected an integer, got 2.5")]
    [InlineData("labels: soft\n", "labels: expected a mapping, got \"soft\"")]
    [InlineData("workers: null\n", "workers: null is not allowed; leave it out for the defaults (expected an integer)")]
    [InlineData("dataset:\n  height: [1, 2]\n", "dataset.height: expected an integer, got a list")]
    [InlineData("name: '7'\nseed: '7'\n", "seed: expected an integer, got \"7\"")]
    [InlineData("training:\n  learning_rate: NaN\n", "training.learning_rate: expected a number, got \"NaN\"")]  // not a writer's ArgumentException
    [InlineData("training:\n  max_grad_norm: Infinity\n", "training.max_grad_norm: expected a number or null, got \"Infinity\"")]
    public void Mistakes_name_the_field(string yaml, string expected)
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(yaml, SpecFormat.Yaml, "run.yaml"));
        Assert.Contains(error.Errors, e => e.StartsWith(expected, StringComparison.Ordinal));
        Assert.StartsWith("run.yaml:", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A section with every line commented out, or written ~, is YAML null: an error naming the section,
    /// not a NullReferenceException in validation.</summary>
    [Theory]
    [InlineData("dataset:\n  # height: 32\n  # width: 32\n", "dataset")]
    [InlineData("training: ~\n", "training")]
    [InlineData("device: ~\n", "device")]
    [InlineData("model:\n  name: null\n", "model.name")]
    public void A_null_section_or_field_names_the_field(string yaml, string field)
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(yaml, SpecFormat.Yaml));
        Assert.StartsWith($"{field}: null is not allowed; leave it out for the defaults", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_optional_field_is_unset()
    {
        var spec = SpecFiles.Parse<ExperimentSpec>("training:\n  precision: ~\n  epochs: null\n", SpecFormat.Yaml);
        Assert.Null(spec.Training.Precision);
        Assert.Empty(spec.Validate());
    }

    /// <summary>Steps and epochs both written: epochs decided the length and the steps were ignored without a word. The
    /// check is on the document (the record's steps always hold a value); a null epochs is not set, and a recorded spec
    /// (a checkpoint's, every field written) is read as it is.</summary>
    [Fact]
    public void Steps_and_epochs_written_together_are_refused()
    {
        var experiment = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>("training: { steps: 2, epochs: 3 }\n", SpecFormat.Yaml));
        Assert.StartsWith("training.steps and training.epochs: both are set", experiment.Errors.Single(), StringComparison.Ordinal);
        var sweep = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<SweepSpec>("base: { training: { steps: 2, epochs: 3 } }\n", SpecFormat.Yaml));
        Assert.StartsWith("base.training.steps and base.training.epochs: both are set", sweep.Errors.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void Steps_or_epochs_alone_and_recorded_specs_load()
    {
        Assert.Equal(2, SpecFiles.Parse<ExperimentSpec>("training: { steps: 2, epochs: ~ }\n", SpecFormat.Yaml).TotalSteps);
        Assert.Equal(3, SpecFiles.Parse<ExperimentSpec>("training: { epochs: 3 }\n", SpecFormat.Yaml).Training.Epochs);
        var byEpochs = new ExperimentSpec { Training = new TrainingSpec { Epochs = 3 } };
        Assert.Equal(byEpochs.Training, SpecFiles.ParseRecorded<ExperimentSpec>(SpecFiles.ToJson(byEpochs), "a.ckpt").Training);
    }

    /// <summary>The document a run writes beside its result (spec.yaml) loads back as the spec it ran, in YAML as in JSON:
    /// one by epochs too, whose record still holds the default steps a written document may not set beside them.</summary>
    [Fact]
    public void A_spec_written_as_a_document_loads_back_as_the_same_spec()
    {
        var byEpochs = new ExperimentSpec
        {
            Seed = 7,
            Training = new TrainingSpec { Epochs = 3, WeightDecay = 1e-5 },
            Loss = new LossSpec { Kind = LossSpec.ClassSuppressionKind },
        };
        foreach (var format in new[] { SpecFormat.Yaml, SpecFormat.Json })
            Assert.Equal(SpecFiles.ToJson(byEpochs), SpecFiles.ToJson(SpecFiles.Parse<ExperimentSpec>(SpecFiles.ToDocument(byEpochs), format)));
        var sweep = new SweepSpec { Base = byEpochs };
        Assert.Equal(SpecFiles.ToJson(sweep), SpecFiles.ToJson(SpecFiles.Parse<SweepSpec>(SpecFiles.ToDocument(sweep), SpecFormat.Yaml)));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var error = Assert.Throws<SpecFileException>(() =>
            SpecFiles.Parse<ExperimentSpec>("""{ "sed": 1, "training": { "steps": "x" }, "model": { "colour": 1 } }""", SpecFormat.Json));
        Assert.Equal(3, error.Errors.Count);
    }

    [Theory]
    [InlineData("training: {steps: 5\n", SpecFormat.Yaml, "not valid YAML")]
    // A brace left open before the next key's line: YamlDotNet's scanner throws InvalidOperationException, not YamlException.
    [InlineData("name: x\ndataset: { height: 32, width: 32\nmodel: {name: spgnet}\n", SpecFormat.Yaml, "not valid YAML (the YAML parser stopped here; is a '{' or '[' above left open?)")]
    [InlineData("{ \"training\": ", SpecFormat.Json, "not valid JSON")]
    [InlineData("a: 1\na: 2\n", SpecFormat.Yaml, "Duplicate key")]
    public void Syntax_errors_give_the_position(string text, SpecFormat format, string expected)
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(text, format));
        Assert.Contains(expected, error.Errors.Single(), StringComparison.Ordinal);
        Assert.StartsWith("line ", error.Errors.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_key_given_twice_is_a_spec_error_naming_it()
    {
        var error = Assert.Throws<SpecFileException>(() =>
            SpecFiles.Parse<ExperimentSpec>("""{ "training": { "steps": 5, "steps": 6 } }""", SpecFormat.Json, "dup.json"));
        Assert.Contains("'steps'", error.Errors.Single(), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", error.Errors.Single(), StringComparison.Ordinal);
        Assert.Equal("dup.json", error.SpecSource);
    }

    [Fact]
    public void Loading_validates_and_names_the_file()
    {
        using var dir = new TempDirectory("segcluster-spec-");
        var good = Path.Combine(dir.FullName, "good.yaml");
        File.WriteAllText(good, Yaml);
        Assert.Equal("tiny", SpecFiles.LoadExperiment(good).Name);

        var invalid = Path.Combine(dir.FullName, "bad.json");
        File.WriteAllText(invalid, """{ "labels": { "mode": "bilinear" } }""");
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.LoadExperiment(invalid));
        Assert.Contains(error.Errors, e => e.StartsWith("labels.mode", StringComparison.Ordinal));
        Assert.Contains("bad.json", error.Message, StringComparison.Ordinal);

        var missing = Path.Combine(dir.FullName, "missing.yaml");
        Assert.Equal("file not found.", Assert.Throws<SpecFileException>(() => SpecFiles.LoadExperiment(missing)).Errors.Single());
    }

    /// <summary>An empty file trained the built-in defaults (800 steps, named "quickstart"), and a second YAML document (after
    /// ---) was ignored: both are mistakes, named as such.</summary>
    [Theory]
    [InlineData("", "is empty")]
    [InlineData("# only a comment\n", "is empty")]
    [InlineData("name: a\n---\nname: b\n", "2 YAML documents")]
    public void An_empty_file_or_a_second_document_is_refused(string text, string expected)
    {
        using var dir = new TempDirectory("segcluster-spec-");
        var file = Path.Combine(dir.FullName, "spec.yaml");
        File.WriteAllText(file, text);
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.LoadExperiment(file));
        Assert.Contains(expected, error.Errors.Single(), StringComparison.Ordinal);
        Assert.Contains(expected, Assert.Throws<SpecFileException>(() => SweepSpecFiles.Load(file)).Errors.Single(), StringComparison.Ordinal);
    }

    /// <summary>A trailing --- with nothing after it is no second document.</summary>
    [Fact]
    public void A_trailing_document_marker_is_not_a_second_document()
    {
        using var dir = new TempDirectory("segcluster-spec-");
        var file = Path.Combine(dir.FullName, "spec.yaml");
        File.WriteAllText(file, "name: trailing\n---\n");
        Assert.Equal("trailing", SpecFiles.LoadExperiment(file).Name);
    }

    /// <summary>Specs come from the network: a deep nesting overflowed YamlDotNet's recursive loader (the process died) and
    /// aliases expanded exponentially. Both are refused at the place they start, naming the line.</summary>
    [Fact]
    public void Deep_nesting_is_refused_at_the_depth_limit()
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(YamlBombs.Nested(), SpecFormat.Yaml, "bomb.yaml"));
        Assert.Equal("line 1, column 67: not valid YAML (nested deeper than 64 levels; a spec is a few levels deep.)",
            error.Errors.Single());

        // 64 levels is the JSON path's limit too: the YAML one parses (to a tree the schema then refuses by name).
        Assert.NotNull(SpecFiles.ParseTree(YamlBombs.Nested(63), SpecFormat.Yaml));
        Assert.Throws<SpecFileException>(() => SpecFiles.ParseTree(YamlBombs.Nested(64), SpecFormat.Yaml));
        Assert.Contains("depth of 64", Assert.Throws<SpecFileException>(() =>
            SpecFiles.ParseTree($"{{ \"a\": {new string('[', 64)}{new string(']', 64)} }}", SpecFormat.Json)).Errors.Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model: &m { width: 4 }\n", "line 1, column 8: not valid YAML (anchor '&m': ")]
    [InlineData("a: 1\nmodel: *m\n", "line 2, column 8: not valid YAML (alias '*m': ")]
    public void Anchors_and_aliases_are_refused_naming_the_line(string yaml, string expected)
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(yaml, SpecFormat.Yaml));
        Assert.StartsWith(expected, error.Errors.Single(), StringComparison.Ordinal);
        Assert.Contains("anchors and aliases are not supported", error.Errors.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_billion_laughs_is_refused_at_its_first_anchor()
    {
        var error = Assert.Throws<SpecFileException>(() => SpecFiles.Parse<ExperimentSpec>(YamlBombs.Laughs(), SpecFormat.Yaml));
        Assert.StartsWith("line 1, column 5: not valid YAML (anchor '&l0': ", error.Errors.Single(), StringComparison.Ordinal);
    }
}
