using System.Text;
using Dmuc.LoadTest.Scenarios;
using Dmuc.LoadTest.Servers;

namespace Dmuc.LoadTest;

/// <summary>The side-by-side table of one scenario: each metric per backend and the ratio Dmuc / Prosody MUC.</summary>
public static class Report
{
    public static string Markdown(string scenario, IReadOnlyDictionary<Backend, IReadOnlyList<Metric>> results)
    {
        var backends = results.Keys.Order().ToList();
        var names = results.Values.SelectMany(metrics => metrics.Select(metric => metric.Name)).Distinct().ToList();
        var rows = names.Select(name =>
        {
            var values = backends.Select(backend => results[backend].FirstOrDefault(metric => metric.Name == name)).ToList();
            var cells = values.Select(metric => metric?.Formatted ?? "–").ToList();
            if (backends.Count == 2) cells.Add(Ratio(values[0], values[1]));
            return (IReadOnlyList<string>)[name, .. cells];
        }).ToList();
        IReadOnlyList<string> header = ["metric", .. backends.Select(backend => backend.Name()), .. backends.Count == 2 ? ["dmuc / prosody"] : Array.Empty<string>()];
        return $"### {scenario}\n\n{Table(header, rows)}";
    }

    private static string Ratio(Metric? prosody, Metric? dmuc) =>
        prosody is null || dmuc is null || prosody.Value == 0 || double.IsNaN(prosody.Value) || double.IsNaN(dmuc.Value)
            ? "–"
            : $"{dmuc.Value / prosody.Value:0.00}×";

    private static string Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = header.Select((cell, column) => rows.Select(row => row[column].Length).Append(cell.Length).Max()).ToList();
        var table = new StringBuilder();
        void Row(IReadOnlyList<string> cells) => table.Append("| ")
            .AppendJoin(" | ", cells.Select((cell, column) => column == 0 ? cell.PadRight(widths[column]) : cell.PadLeft(widths[column])))
            .Append(" |\n");
        Row(header);
        table.Append('|').AppendJoin('|', widths.Select((width, column) => column == 0 ? new string('-', width + 2) : new string('-', width + 1) + ":")).Append("|\n");
        foreach (var row in rows) Row(row);
        return table.ToString();
    }
}
