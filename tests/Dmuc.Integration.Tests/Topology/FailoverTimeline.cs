using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Dmuc.Integration.Tests.Topology;

/// <summary>
/// Where the time between a primary node's kill and the first delivery went, read from every node's JSON log (DATA/logs)
/// in a topology's run folder: failure detection, downing, removal, the shard coordinator's move, the room's recovery and the
/// replicas' netjoin (docs/benchmarks.md, issue 13's failover section, prints and explains it).
/// </summary>
public static class FailoverTimeline
{
    /// <param name="At">When it happened, if not when it was logged.</param>
    private sealed record Mark(string What, Func<Line, bool> Matches, Func<Line, DateTimeOffset>? At = null);

    private static Mark Says(string what, params string[] parts) =>
        new(what, line => parts.All(part => line.Text.Contains(part, StringComparison.Ordinal)));

    /// <summary>In the order a failover goes through them; each is printed for every node that logged it, at its first time after the kill.</summary>
    private static readonly Mark[] Marks =
    [
        Says("unreachable (failure detector)", "Marking node(s) as UNREACHABLE"),
        Says("downed (stable-after, primary lease)", "Downing unreachable primary-capable node"),
        Says("host's component stream taken over (when the killed node held it)", "Component {Domain} connected to"),
        Says("removed (gossip convergence, leader)", "Leader is removing"),
        Says("shard coordinator started", "Singleton manager started singleton actor", "/system/sharding/roomCoordinator/"),
        new("room recovering (its shard allocated and started)", line => line.Text.Contains(RoomRecovered, StringComparison.Ordinal),
            line => line.At - TimeSpan.FromMilliseconds(line.Json.GetProperty("3").GetDouble())),
        Says("room recovered from the journal", RoomRecovered),
        Says("replica's netjoin started", "netjoin {1} started"),
        Says("replica linked to the room again", "to its primary again"),
    ];

    /// <summary>One line per mark and node, and per first delivery clients saw (<paramref name="firstDeliveries"/>), in time order.</summary>
    public static string Of(string runDirectory, DateTimeOffset killedAt, params (TimeSpan After, string To)[] firstDeliveries)
    {
        var found = firstDeliveries.Select(delivery => (delivery.After, $"first delivery of a message said after the kill to {delivery.To}", "client")).ToList();
        foreach (var log in Directory.EnumerateFiles(runDirectory, "*.json", SearchOption.AllDirectories)
                     .Where(path => Path.GetFileName(Path.GetDirectoryName(path)) == "logs"))
        {
            var node = Path.GetRelativePath(runDirectory, log).Split(Path.DirectorySeparatorChar)[0];
            var lines = File.ReadLines(log).Select(Parse).OfType<Line>().Where(line => line.At >= killedAt).ToList();
            foreach (var mark in Marks)
            {
                if (lines.FirstOrDefault(mark.Matches) is not { } first) continue;
                found.Add(((mark.At?.Invoke(first) ?? first.At) - killedAt, mark.What, node));
            }
        }
        var timeline = new StringBuilder("after the kill:\n");
        foreach (var (after, what, node) in found.OrderBy(mark => mark.After))
            timeline.AppendLine(CultureInfo.InvariantCulture, $"  +{after.TotalSeconds,5:F1} s  {what}  ({node})");
        return timeline.ToString();
    }

    /// <summary>What RoomActor logs when a sharded room comes back with occupants, with how long it took ({3}, in ms).</summary>
    private const string RoomRecovered = "recovered on this node with";

    /// <param name="Text">The whole line as logged (the message template and its values).</param>
    private sealed record Line(DateTimeOffset At, string Text, JsonElement Json);

    /// <summary>A log line, or null for one a running node has not finished writing.</summary>
    private static Line? Parse(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var json = document.RootElement.Clone();
            return new Line(DateTimeOffset.Parse(json.GetProperty("@t").GetString()!, CultureInfo.InvariantCulture), text, json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
