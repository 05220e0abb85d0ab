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

    /// <summary>
    /// Rounds of the same backends (each round's results in the same order, the anchor first): each backend's ratio to the
    /// anchor in every round and their median. On two shared cores one run moves by 15–25 % from the next; a ratio taken within
    /// a round, where both ran a minute apart, and its median over rounds in alternating orders, moves far less.
    /// </summary>
    public static string RoundsMarkdown(string scenario, IReadOnlyList<IReadOnlyList<(Backend Backend, IReadOnlyList<Metric> Metrics)>> rounds)
    {
        var first = rounds[0];
        var names = first.SelectMany(result => result.Metrics.Select(metric => metric.Name)).Distinct().ToList();
        var rows = names.Select(name =>
        {
            IReadOnlyList<string> row =
            [
                name,
                .. first.Skip(1).Select((_, index) =>
                {
                    var ratios = rounds.Select(round => RatioValue(Find(round[0].Metrics, name), Find(round[index + 1].Metrics, name))).ToList();
                    var known = ratios.OfType<double>().Order().ToList();
                    return known.Count == 0
                        ? "–"
                        : $"{string.Join(" · ", ratios.Select(ratio => ratio is { } value ? $"{value:0.00}" : "–"))} (median {Median(known):0.00}×)";
                }),
            ];
            return row;
        }).ToList();
        IReadOnlyList<string> header = ["metric", .. first.Skip(1).Select(result => $"{result.Backend.Name} / {first[0].Backend.Name}, round by round")];
        return $"### {scenario}: {rounds.Count} rounds\n\n{Table(header, rows)}";
    }

    private static Metric? Find(IReadOnlyList<Metric> metrics, string name) => metrics.FirstOrDefault(metric => metric.Name == name);

    private static double Median(IReadOnlyList<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    private static string Ratio(Metric? anchor, Metric? other) => RatioValue(anchor, other) is { } ratio ? $"{ratio:0.00}×" : "–";

    private static double? RatioValue(Metric? anchor, Metric? other) =>
        anchor is null || other is null || anchor.Value == 0 || double.IsNaN(anchor.Value) || double.IsNaN(other.Value)
            ? null
            : other.Value / anchor.Value;

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
