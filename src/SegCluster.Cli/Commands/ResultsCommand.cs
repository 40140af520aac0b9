using System.CommandLine;
using SegCluster.Cli.Output;
using SegCluster.Cli.Sweeps;
using Spectre.Console;

namespace SegCluster.Cli.Commands;

/// <summary>`segcluster results SWEEP`: the sorted results table of a finished sweep's report folder; CSV/JSON export.
/// Without SWEEP: the sweeps under --root.</summary>
public static class ResultsCommand
{
    public static Command Create()
    {
        var sweep = new Argument<string?>("SWEEP")
        {
            Description = "Sweep id (folder under --root), sweep name (its latest run), or a report folder path; left out: list the sweeps under --root.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var root = new Option<DirectoryInfo>("--root") { Description = "Folder holding sweep report folders.", DefaultValueFactory = _ => SweepCommand.DefaultRoot };
        var csv = new Option<FileInfo?>("--csv") { Description = "Also write the results as CSV (best first) to this file." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON (spec + every trial) to this file." };
        var top = new Option<int>("--top") { Description = "Rows to print.", DefaultValueFactory = _ => 20 };
        top.Check(v => v < 1 ? "--top must be at least 1." : null);

        var command = new Command("results", "Show a sweep's trials best first; export them as CSV or JSON. Without SWEEP: list the sweeps.") { sweep, root, csv, json, top };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(sweep) is null)
            {
                if (parse.GetValue(csv) is not null || parse.GetValue(json) is not null)
                {
                    Console.Error.WriteLine("error: --csv and --json export one sweep; name it (segcluster results SWEEP --csv FILE).");
                    return 2;
                }
                var (table, resume) = SweepIndexTable.Create(parse.GetValue(root)!);
                if (table.Rows.Count == 0)
                {
                    Console.WriteLine($"no sweep reports under {parse.GetValue(root)!.FullName} (sweeps write there by default; --root names another folder).");
                    return 0;
                }
                AnsiConsole.Console.Write(table);
                foreach (var command in resume) Console.WriteLine($"resume an interrupted one with: {command}");
                return 0;
            }
            // Exports are checked before anything is printed: a folder given as a file was "Access denied" after the table.
            if (parse.GetValue(csv) is { } csvFile && !OutputFolder.IsWritableFile(csvFile, "--csv", "results.csv")) return 2;
            if (parse.GetValue(json) is { } jsonFile && !OutputFolder.IsWritableFile(jsonFile, "--json", "results.json")) return 2;
            var folder = SweepFolders.Find(parse.GetValue(sweep)!, parse.GetValue(root)!, out var error);
            if (folder is null)
            {
                Console.Error.WriteLine($"error: {error}");
                return 2;
            }
            var file = Path.Combine(folder.FullName, SweepReport.JsonFile);
            SweepReport report;
            try
            {
                report = SweepReport.FromJson(await File.ReadAllTextAsync(file, cancellationToken), file);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {file} is not a sweep report: {e.Message}");
                return 2;
            }
            AnsiConsole.Console.Write(SweepTable.Create(report, parse.GetValue(top)));
            if (SweepTable.BestCheckpointLine(report) is { } best) Console.WriteLine(best);  // plain: a path to copy, unwrapped
            var exports = new[] { (File: parse.GetValue(csv), Text: (Func<string>)report.ToCsv), (File: parse.GetValue(json), Text: report.ToJson) };
            foreach (var (target, text) in exports)
            {
                if (target is null) continue;
                try
                {
                    await File.WriteAllTextAsync(target.FullName, text(), cancellationToken);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"error: cannot write {target.FullName}: {e.Message}");
                    return 2;
                }
                AnsiConsole.Console.MarkupLineInterpolated($"wrote {target.FullName}");
            }
            return 0;
        });
        return command;
    }
}
