namespace SegCluster.Cli.Output;

/// <summary>Words of the commands this CLI prints for the user to copy (resume a sweep, follow an experiment).</summary>
public static class ShellWord
{
    /// <summary>A word for a POSIX shell: as is when it holds only characters no shell expands (unless
    /// <paramref name="always"/>), else single-quoted.</summary>
    public static string Quote(string word, bool always = false) =>
        !always && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '_' or '-' or '/' or '@' or ',' or '=')
            ? word : $"'{word.Replace("'", "'\\''")}'";
}
