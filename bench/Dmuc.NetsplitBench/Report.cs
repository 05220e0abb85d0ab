namespace Dmuc.NetsplitBench;

/// <summary>The markdown tables docs/benchmarks.md shows: median and range over the rounds, per keepalive setting.</summary>
public static class Report
{
    public static void Write(TextWriter output, BenchOptions options, IReadOnlyList<SettingResult> results)
    {
        output.WriteLine($"| metric | {string.Join(" | ", results.Select(result => result.Setting.Name))} |");
        output.WriteLine($"|---|{string.Concat(results.Select(_ => "---:|"))}");
        Row("detection, primary: cut → link marked split (s)", round => round.PrimaryDetected);
        Row("detection, replica: cut → marked split (s)", round => round.ReplicaDetected);
        Row($"{options.Messages:N0} messages to the primary side: cut → all delivered (s)", round => round.PrimarySideDelivered);
        Row("netjoin: heal → first contact, replica sends its report (s)", round => round.NetjoinStarted);
        Row("netjoin: heal → report processed, resync planned (s)", round => round.ReportProcessed);
        Row("netjoin: heal → resync sent (s)", round => round.ResyncSent);
        Row("netjoin: heal → resync received by the replica (s)", round => round.ResyncReceived);
        Row("**netjoin: heal → all delivered (s)**", round => round.AllDelivered);
        Row("resync batch (bytes on the wire)", round => round.ResyncBytes, "N0");
        Row("resync batch (items)", round => round.ResyncItems, "N0");
        Row("deliveries to the replica's users in the netjoin", round => round.NetjoinDeliveries, "N0");
        output.WriteLine($"| fresh join of {options.Occupants - 1:N0} occupants at once (s, once per setting) | " +
                         string.Join(" | ", results.Select(result => double.IsNaN(result.JoinSeconds) ? "–" : result.JoinSeconds.ToString("F2"))) + " |");
        output.WriteLine("| **ratio: netjoin (heal → all delivered) ÷ fresh join** | " +
                         string.Join(" | ", results.Select(result => Summary(result.Rounds.Select(round => round.AllDelivered / result.JoinSeconds), "F3"))) + " |");
        output.WriteLine("| rounds converged | " +
                         string.Join(" | ", results.Select(result => result.Failure is null
                             ? $"{result.Rounds.Count(round => round.Converged)} of {result.Rounds.Count}"
                             : $"stopped: {result.Failure}")) + " |");
        output.WriteLine("| further split events per round (links not cut, or a netjoin retried) | " +
                         string.Join(" | ", results.Select(result => string.Join(", ", result.Rounds.Select(round => round.OtherSplits)))) + " |");
        output.WriteLine();
        output.WriteLine("Each cell: median [min–max] over the rounds.");

        void Row(string metric, Func<RoundResult, double?> value, string format = "F3") =>
            output.WriteLine($"| {metric} | {string.Join(" | ", results.Select(result => Summary(result.Rounds.Select(value), format)))} |");
    }

    private static string Summary(IEnumerable<double?> values, string format)
    {
        var observed = values.OfType<double>().Order().ToList();
        if (observed.Count == 0) return "–";
        var median = observed.Count % 2 == 1
            ? observed[observed.Count / 2]
            : (observed[observed.Count / 2 - 1] + observed[observed.Count / 2]) / 2;
        return observed.Count == 1
            ? median.ToString(format)
            : $"{median.ToString(format)} [{observed[0].ToString(format)}–{observed[^1].ToString(format)}]";
    }
}
