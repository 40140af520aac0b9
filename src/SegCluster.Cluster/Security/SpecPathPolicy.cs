using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Nodes;

namespace SegCluster.Cluster.Security;

/// <summary>
/// Node:PathRoots: the directories under which a spec or a call may name files for this node to read. Whoever may submit
/// a spec chooses its paths (dataset.path, training.resume_from, training.load_from, model.backbone_weights; eval's
/// checkpoint and dataset; the checkpoint a re-formed ring resumes from), so without roots a spec could make the node read
/// any file it can, and the errors about a missing file would say which paths exist. Every such path is checked here
/// before the node touches it: made absolute against the working directory, then followed link by link, it must stay
/// under a root (whole components: /data2 is not under /data). Node:CheckpointDirectory is a root as well, so the node's
/// own checkpoints resume. With no roots (the default: an embedded or local node) every path is allowed.
/// </summary>
/// <remarks>
/// The refusal is one text whether the path exists or not, and nothing outside the roots is looked at: the path as written
/// must lie under a root before any link is read, a link is read only where the path so far lies under a root (or above
/// one), and a step that leaves them is refused before it is looked at. Both ways a path resolves are checked: .NET's
/// (File, Directory and FileStream remove "..", then the system follows the links) and the system's own (a ".." after a
/// link goes to the parent of the link's target: a path handed as it is to native code). A file swapped for a link
/// between this check and the read is not caught (the node would have to open files itself, relative to a root handle).
/// </remarks>
public sealed class SpecPathPolicy
{
    public const string Setting = "Node:PathRoots";

    /// <summary>Links followed in one path before it is refused, as Linux's ELOOP limit: a loop of links never ends.</summary>
    private const int MaxLinks = 40;

    private static readonly StringComparison Comparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>Each root as configured (made absolute) and with its own links followed.</summary>
    private readonly string[] _roots;
    /// <summary>The roots as a refusal names them.</summary>
    private readonly string _listed;

    /// <summary>No roots: every path is allowed (an embedded or local run, with its user's own rights).</summary>
    public static SpecPathPolicy Unrestricted { get; } = new([]);

    /// <param name="roots">Absolute directories (<see cref="NodeOptionsValidator"/> refuses others); none = unrestricted.</param>
    /// <param name="checkpointDirectory">The node's own checkpoint directory, allowed beside <paramref name="roots"/>.</param>
    public SpecPathPolicy(IReadOnlyList<string> roots, string? checkpointDirectory = null)
    {
        var configured = roots.Select(Absolute).ToList();
        var all = checkpointDirectory is null || configured.Count == 0 ? configured : [.. configured, Absolute(checkpointDirectory)];
        _roots = [.. all.Concat(all.Select(root => Follow(root, _ => true) ?? root)).Distinct()];
        _listed = $"{Setting}: {string.Join(", ", configured)}" +
                  (all.Count > configured.Count ? $"; Node:CheckpointDirectory: {all[^1]}" : "");

        static string Absolute(string root) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
    }

    /// <summary>The node's policy: <see cref="NodeOptions.PathRoots"/> and, when there are any, its checkpoint directory.</summary>
    public static SpecPathPolicy For(NodeOptions node) => new(node.PathRoots, node.CheckpointDirectory);

    /// <summary>Whether paths are checked at all (Node:PathRoots is set).</summary>
    public bool Confines => _roots.Length > 0;

    /// <summary>The refusal of <paramref name="path"/>, naming <paramref name="field"/>, the path as given and the roots;
    /// null when it is allowed (or null, or no roots are set).</summary>
    public string? Refusal(string field, string? path) => path is null || Allows(path) ? null
        : $"{field}: '{path}' is outside this node's path roots ({_listed}); put it under one of them, or add a root.";

    /// <summary>The refusals of every path field of <paramref name="spec"/>; empty when all are allowed.</summary>
    public List<string> Refusals(ExperimentSpec spec) =>
    [
        .. new[]
        {
            Refusal("dataset.path", spec.Dataset.Path),
            Refusal("training.resume_from", spec.Training.ResumeFrom),
            Refusal("training.load_from", spec.Training.LoadFrom),
            Refusal("model.backbone_weights", spec.Model.BackboneWeights),
        }.OfType<string>(),
    ];

    /// <summary>The refusals of a rank's assignment: its spec's paths and the checkpoint the ring resumes from (a
    /// coordinator's record, which a caller of the grains could have set).</summary>
    public List<string> Refusals(TrainingAssignment assignment) =>
        [.. Refusals(assignment.Spec), .. new[] { Refusal("the checkpoint this ring resumes from", assignment.ResumeFrom?.Path) }.OfType<string>()];

    private bool Allows(string path)
    {
        if (!Confines) return true;
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false;  // not a path this node could open either
        }
        if (!_roots.Any(root => IsUnder(full, root))) return false;  // as written: decided without looking at anything
        var raw = Path.IsPathRooted(path) ? path : Path.Join(Directory.GetCurrentDirectory(), path);
        return Follow(full, MayLookAt) is { } resolved && IsAllowed(resolved)
               && Follow(raw, MayLookAt) is { } followed && IsAllowed(followed);
    }

    private bool IsAllowed(string resolved) => _roots.Any(root => IsUnder(resolved, root));

    /// <summary>A place the walk may read a link at: under a root, or above one (on the way down to it).</summary>
    private bool MayLookAt(string place) => _roots.Any(root => IsUnder(place, root) || IsUnder(root, place));

    /// <summary>
    /// Where <paramref name="path"/> (absolute) leads as the system resolves it: component by component, a ".." to the
    /// parent of where the walk is, a link replaced by its target. Null when a step reaches a place
    /// <paramref name="mayLookAt"/> refuses (before it is looked at) or the links do not end.
    /// </summary>
    private static string? Follow(string path, Func<string, bool> mayLookAt)
    {
        var current = Path.GetPathRoot(path)!;
        var pending = new Stack<string>(Names(path).Reverse());
        var links = 0;
        while (pending.TryPop(out var name))
        {
            if (name == ".") continue;
            if (name == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;  // the root's parent is the root
                continue;
            }
            var next = Path.Join(current, name);
            if (!mayLookAt(next)) return null;
            if (new FileInfo(next).LinkTarget is not { } target)  // not a link, or nothing there: the rest is names
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) return null;
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target)!;  // a relative target starts at the link's folder
            foreach (var part in Names(target).Reverse()) pending.Push(part);
        }
        return current;
    }

    /// <summary>The components of <paramref name="path"/> after its root.</summary>
    private static IEnumerable<string> Names(string path) =>
        path[Path.GetPathRoot(path)!.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies under it, by whole components.</summary>
    private static bool IsUnder(string path, string root) =>
        path.StartsWith(root, Comparison)
        && (path.Length == root.Length || IsSeparator(path[root.Length]) || IsSeparator(root[^1]));

    private static bool IsSeparator(char c) => c == Path.DirectorySeparatorChar || c == Path.AltDirectorySeparatorChar;
}
