using System.Text;

namespace Dmuc.Integration.Tests.Chaos;

/// <summary>A run's figures as a Markdown table (what docs/benchmarks.md shows), then its verdict and the problems found.</summary>
public static class ChaosReport
{
    public static string Format(ChaosOptions options, ChaosVerdict verdict)
    {
        var faults = string.Join(", ", ChaosOptions.AllFaults.Select(kind => $"{kind} {verdict.FaultsInjected.GetValueOrDefault(kind)}"));
        (string Figure, string Value)[] rows =
        [
            ("seed", options.Seed.ToString()),
            ("faults injected", $"{verdict.FaultsInjected.Values.Sum()} ({faults})"),
            ("fault commands that failed", verdict.FaultCommandsFailed.ToString()),
            ("messages sent", verdict.Sent.ToString()),
            ("delivered (echoed to the sender)", verdict.Delivered.ToString()),
            ("errored", verdict.Errored.ToString()),
            ("lost (neither echo nor error)", verdict.Lost.ToString()),
            ("unanswered: the sender's server was killed first", verdict.UnansweredAfterStreamLoss.ToString()),
            ("unanswered: its host's Dmuc node was killed holding it", verdict.UnansweredInKilledNode.ToString()),
            ("both an error and a delivery", verdict.DeliveredAndErrored.ToString()),
            ("copies owed to occupants who stayed", verdict.CopiesChecked.ToString()),
            ("copies missing", verdict.MissingCopies.ToString()),
            ("holes (a sender's later message without an earlier one)", verdict.Holes.ToString()),
            ("duplicate copies", verdict.Duplicates.ToString()),
            ("order violations (live copies)", verdict.OrderViolations.ToString()),
            ("sessions the room put out (then entered again)", verdict.RemovedByRoom.ToString()),
            ($"ghosts checked / over the {verdict.GhostBound.TotalSeconds:0} s bound", $"{verdict.GhostsChecked} / {verdict.GhostsOverBound}"),
            ("longest ghost after its server's restart", verdict.LongestGhost is { } longest ? $"{longest.TotalSeconds:0.0} s" : "-"),
            ("newcomers' histories compared / differing or missing", $"{verdict.HistoriesCompared} / {verdict.HistoriesDiffering}"),
            ("history entries never echoed to their sender", verdict.UnechoedInHistory.ToString()),
            ("newcomers' rosters: ghosts / silently evicted", $"{verdict.RosterGhosts} / {verdict.SilentEvictions}"),
        ];
        var width = rows.Max(row => row.Figure.Length);
        var report = new StringBuilder();
        report.AppendLine($"| {"figure".PadRight(width)} | value |").AppendLine($"|{new string('-', width + 2)}|-------|");
        foreach (var (figure, value) in rows) report.AppendLine($"| {figure.PadRight(width)} | {value} |");
        report.AppendLine().AppendLine(verdict.Passed ? "PASSED: every rule held." : $"FAILED: the first problems of each rule broken:");
        foreach (var problem in verdict.Problems) report.AppendLine("  - " + problem);
        return report.ToString();
    }
}
