using System.CommandLine;

namespace SegCluster.Cli.Commands;

/// <summary>
/// <c>--resume CKPT</c> and <c>--load-from CKPT</c> of `train` and `quickstart` (mmsegmentation's --resume and
/// --cfg-options load_from=…): shorthand for <c>--set training.resume_from=CKPT</c> and <c>--set training.load_from=CKPT</c>,
/// applied before the command's own --set lines, so the spec is validated once with everything in it.
/// </summary>
public sealed class StartingCheckpointOptions
{
    public Option<string?> Resume { get; } = new("--resume")
    {
        Description = "Continue from this checkpoint: weights, optimiser state and step, to training.steps (training.resume_from).",
        HelpName = "CKPT",
    };

    public Option<string?> LoadFrom { get; } = new("--load-from")
    {
        Description = "Start from this checkpoint's weights at step 0 with a fresh optimiser, e.g. to fine-tune (training.load_from).",
        HelpName = "CKPT",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Resume);
        command.Options.Add(LoadFrom);
    }

    /// <summary>The assignments these options stand for, followed by the user's <paramref name="overrides"/>.</summary>
    public IReadOnlyList<string> WithOverrides(ParseResult parse, Option<string[]> overrides)
    {
        var assignments = new List<string>();
        if (parse.GetValue(Resume) is { } resume) assignments.Add($"training.resume_from={resume}");
        if (parse.GetValue(LoadFrom) is { } weights) assignments.Add($"training.load_from={weights}");
        return [.. assignments, .. parse.GetValue(overrides) ?? []];
    }
}
