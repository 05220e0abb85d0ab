using System.Text;
using Dmuc.LoadTest.Scenarios;
using Dmuc.LoadTest.Servers;

namespace Dmuc.LoadTest;

/// <summary>
/// The side-by-side table of one scenario: each metric per backend, and each backend's value as a ratio of the
/// first backend's (the anchor).
/// </summary>
public static class Report
{
    public static string Markdown(string scenario, IReadOnlyList<(Backend Backend, IReadOnlyList<Metric> Metrics)> results)
    {
        var anchor = results[0].Backend;
        var compared = results.Skip(1).Select(result => result.Backend).ToList();
        var names = results.SelectMany(result => result.Metrics.Select(metric => metric.Name)).Distinct().ToList();
        var rows = names.Select(name =>
        {
            var values = results.Select(result => result.Metrics.FirstOrDefault(metric => metric.Name == name)).ToList();
            IReadOnlyList<string> row =
            [
                name,
                .. values.Select(metric => metric?.Formatted ?? "–"),
                .. values.Skip(1).Select(value => Ratio(values[0], value)),
            ];
            return row;
        }).ToList();
        IReadOnlyList<string> header =
        [
            "metric",
            .. results.Select(result => result.Backend.Name),
            .. compared.Select(backend => $"{backend.Name} / {anchor.Name}"),
        ];
        return $"### {scenario}\n\n{Table(header, rows)}";
    }

    private static string Ratio(Metric? anchor, Metric? other) =>
        anchor is null || other is null || anchor.Value == 0 || double.IsNaN(anchor.Value) || double.IsNaN(other.Value)
            ? "–"
            : $"{other.Value / anchor.Value:0.00}×";

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
