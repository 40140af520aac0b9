using System.CommandLine;
using System.CommandLine.Parsing;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cli.Embedded;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster quickstart`: an embedded in-process cluster trains the default spec on the built-in
/// synthetic dataset, data-parallel (the node's workers sum in memory; with --wire over the real loopback ring), and reports mIoU.
/// </summary>
public static class QuickstartCommand
{
    private static readonly ExperimentSpec Defaults = new();

    public static Command Create()
    {
        var workers = new Option<int>("--workers") { Description = "Data-parallel workers (ranks) on this machine.", DefaultValueFactory = _ => Defaults.Workers };
        var steps = new Option<int?>("--steps") { Description = $"Optimizer steps (default {Defaults.Training.Steps})." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the train split (instead of --steps)." };
        var imageSize = new Option<string>("--image-size") { Description = "Image size HxW or S (multiple of 16).", DefaultValueFactory = _ => $"{Defaults.Dataset.Height}x{Defaults.Dataset.Width}" };
        var batch = new Option<int>("--batch-size") { Description = "Images per worker per step.", DefaultValueFactory = _ => Defaults.Training.BatchPerWorker };
        var device = new Option<string>("--device") { Description = "Device of every worker: cpu or cuda:N.", DefaultValueFactory = _ => Defaults.Device };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics and /health while training (0 = any free port).", DefaultValueFactory = _ => 9464 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for result.json and the spec.yaml of the run.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("out", "quickstart")) };
        var linger = new Option<int>("--linger") { Description = "Seconds to keep /metrics up after the run, so Prometheus scrapes the final mIoU and experiment state.", DefaultValueFactory = _ => 0 };
        var labelMode = new Option<string>("--label-mode") { Description = $"Label grid of the final loss: {string.Join(", ", LabelsSpec.Modes)}.", DefaultValueFactory = _ => Defaults.Labels.Mode };
        var labelFactor = new Option<int>("--label-factor") { Description = "Label down-sampling factor f (block size in block mode): 1, 2, 4, 8 or 16.", DefaultValueFactory = _ => Defaults.Labels.Factor };
        var decoderTruncation = new Option<double>("--decoder-truncation") { Description = "Spectral truncation ratio of the finest decoder level, in (0, 1]; 1 = off.", DefaultValueFactory = _ => Defaults.Model.DecoderTruncation };
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", SegCluster.Vision.Models.ModelRegistry.Names)}.", DefaultValueFactory = _ => Defaults.Model.Name };
        var seed = new Option<int>("--seed") { Description = "Seed of data, shuffling and initialisation.", DefaultValueFactory = _ => Defaults.Seed };
        var precision = new Option<string?>("--precision") { Description = $"{string.Join(" | ", TrainingSpec.Precisions)} (default: the device's; CPU fp32, CUDA bf16-mixed from compute capability 8.0, else fp16-mixed)." };
        var memoryFormat = new Option<string?>("--memory-format") { Description = $"{string.Join(" | ", TrainingSpec.MemoryFormats)} (default: CPU contiguous, CUDA channels_last)." };
        var wire = new Option<string?>("--wire") { Description = $"{string.Join(" | ", TrainingSpec.Wires)}: format of the gradient ring; routes the workers through the loopback TCP ring instead of the in-memory sum (default: in memory)." };
        var norm = new Option<string?>("--norm") { Description = $"{string.Join(" | ", ModelSpec.Norms)} (default: syncbn for more than one worker, else bn)." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write a checkpoint every N steps and after the last (0 = none); evaluate it with `segcluster eval --dataset synthetic`.", DefaultValueFactory = _ => Defaults.Training.CheckpointEvery };
        checkpointEvery.Check(v => v < 0 ? "--checkpoint-every must be 0 (none) or more." : null);
        precision.AcceptOnlyFromAmong([.. TrainingSpec.Precisions]);
        norm.AcceptOnlyFromAmong([.. ModelSpec.Norms]);
        wire.AcceptOnlyFromAmong([.. TrainingSpec.Wires]);
        memoryFormat.AcceptOnlyFromAmong([.. TrainingSpec.MemoryFormats]);

        workers.Check(v => v < 1 ? $"--workers must be at least 1 (got {v})." : null);
        steps.Check(v => v is < 1 ? "--steps must be at least 1." : null);
        epochs.Check(v => v is < 1 ? "--epochs must be at least 1." : null);
        batch.Check(v => v < 1 ? "--batch-size must be at least 1." : null);
        imageSize.Check(value => ImageSize.TryParse(value, out _, out _, out var error) ? null : error);
        linger.Check(v => v is < 0 or > 3600 ? "--linger must be 0 to 3600 seconds." : null);
        model.Check(name => !SegCluster.Vision.Models.ModelRegistry.Names.Contains(name)
            ? $"--model '{name}' is unknown; valid: {string.Join(", ", SegCluster.Vision.Models.ModelRegistry.Names)}." : null);
        metricsPort.Check(v => v is < 0 or > 65535 ? "--metrics-port must be 0 to 65535." : null);

        var overrides = SpecOverrideOption.Create();
        var startingCheckpoint = new StartingCheckpointOptions();

        var command = new Command("quickstart", "Train on the built-in synthetic dataset with a local in-process cluster and report mIoU.")
        {
            workers, steps, epochs, imageSize, batch, device, model, metricsPort, output, seed, labelMode, labelFactor, decoderTruncation, linger,
            precision, memoryFormat, norm, checkpointEvery, wire, overrides,
        };
        startingCheckpoint.AddTo(command);
        command.Validators.Add(r =>
        {
            if (r.GetResult(steps) is { Implicit: false } && r.GetResult(epochs) is { Implicit: false })
                r.AddError("Give --steps or --epochs, not both.");
        });
        // The spec fields these options set: a run that fails naming one (DeepLabV3+ refusing a batch of one image names
        // training.batch_per_worker) names the option the user typed instead.
        var optionNames = new Dictionary<string, string>
        {
            ["training.steps"] = steps.Name, ["training.epochs"] = epochs.Name, ["training.batch_per_worker"] = batch.Name,
            ["model.name"] = model.Name, ["model.norm"] = norm.Name, ["model.decoder_truncation"] = decoderTruncation.Name,
            ["labels.mode"] = labelMode.Name, ["labels.factor"] = labelFactor.Name, ["training.precision"] = precision.Name,
            ["training.memory_format"] = memoryFormat.Name, ["training.wire"] = wire.Name, ["training.checkpoint_every"] = checkpointEvery.Name,
            ["dataset.height"] = imageSize.Name, ["dataset.width"] = imageSize.Name,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            ImageSize.TryParse(parse.GetValue(imageSize), out var height, out var width, out _);
            var spec = Defaults with
            {
                Workers = parse.GetValue(workers),
                Device = parse.GetValue(device)!,
                Seed = parse.GetValue(seed),
                Dataset = Defaults.Dataset with { Height = height, Width = width },
                Labels = Defaults.Labels with { Mode = parse.GetValue(labelMode)!, Factor = parse.GetValue(labelFactor) },
                Model = Defaults.Model with { Name = parse.GetValue(model)!, DecoderTruncation = parse.GetValue(decoderTruncation), Norm = parse.GetValue(norm) },
                Training = Defaults.Training with
                {
                    Steps = parse.GetValue(steps) ?? Defaults.Training.Steps,
                    Epochs = parse.GetValue(epochs),
                    BatchPerWorker = parse.GetValue(batch),
                    Precision = parse.GetValue(precision),
                    MemoryFormat = parse.GetValue(memoryFormat),
                    CheckpointEvery = parse.GetValue(checkpointEvery),
                    Wire = parse.GetValue(wire),
                },
            };
            // A field given with --set is named as typed, not as the option whose value it replaced.
            var setFields = SpecOverrides.Paths(parse.GetValue(overrides) ?? []);
            var named = optionNames.Where(o => !setFields.Contains(o.Key)).ToDictionary();
            try
            {
                spec = SpecOverrides.Apply(spec, startingCheckpoint.WithOverrides(parse, overrides), "quickstart");
            }
            catch (SpecFileException e)
            {
                QuickstartRunner.WriteErrors(e.Errors, named);
                return 2;
            }
            if (QuickstartRunner.UnusableDevice(spec, device.Name) is { } unusable)
            {
                Console.Error.WriteLine($"error: {unusable}");
                return 2;
            }
            return await QuickstartRunner.RunAsync(spec, experimentId: null, parse.GetValue(metricsPort), parse.GetValue(output)!,
                TimeSpan.FromSeconds(parse.GetValue(linger)), cancellationToken, named);
        });
        return command;
    }
}
