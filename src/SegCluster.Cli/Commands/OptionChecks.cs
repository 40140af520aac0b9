using System.CommandLine;

namespace SegCluster.Cli.Commands;

/// <summary>Range and format checks of an option's value, beside the parser's own.</summary>
internal static class OptionChecks
{
    /// <summary>
    /// Adds a check of <paramref name="option"/>'s value: <paramref name="problem"/> returns what is wrong with it, or
    /// null. A value that does not parse as <typeparamref name="T"/> ("--steps ten") is not checked: the parser reports it
    /// as one error line, exit 2, and reading it here would throw (before, such a value crashed the CLI).
    /// </summary>
    public static void Check<T>(this Option<T> option, Func<T, string?> problem) =>
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValueOrDefault<T>()!;
            }
            catch (InvalidOperationException)
            {
                return;
            }
            if (problem(value) is { } error) result.AddError(error);
        });
}
