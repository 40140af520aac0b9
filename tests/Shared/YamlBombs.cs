using System.Text;

namespace SegCluster.Tests.Shared;

/// <summary>Hostile YAML documents, each well under the API's 1 MB spec limit.</summary>
public static class YamlBombs
{
    /// <summary><c>a: [[[…]]]</c> nested <paramref name="depth"/> deep: 200,000 deep (400 KB) overflowed the stack of
    /// YamlDotNet's recursive loader, an uncatchable crash of the whole process.</summary>
    public static string Nested(int depth = 200_000) => $"a: {new string('[', depth)}{new string(']', depth)}\n";

    /// <summary>"Billion laughs": each level a list of nine aliases of the level before, 9^<paramref name="levels"/> strings
    /// once expanded from a few hundred bytes.</summary>
    public static string Laughs(int levels = 6)
    {
        var text = new StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var level = 1; level < levels; level++)
            text.Append($"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))}]\n");
        return text.ToString();
    }
}
