using System.Collections.Concurrent;
using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;

namespace Dmuc.PersistBench;

/// <summary>
/// The journal's share of a message's latency at a steady rate: one room of many occupants, one message every
/// interval, each timed from the hand-over to the room directory to its first copy out of the room (which waits for its
/// write). No network and no XMPP server, so what stalls here is the node's journal, its snapshots, or the machine.
/// </summary>
internal static class PacedLatencyBench
{
    public static async Task RunAsync(int occupants, int messagesPerSecond, int seconds, int snapshotEvery)
    {
        using var data = new TempDirectory();
        var sink = new FirstCopySink();
        await using var node = new BenchNode(data.Path, sink, snapshotEvery);
        var room = BenchNode.RoomName(1);
        await node.CreateRoomAsync(room);
        for (var i = 1; i < occupants; i++)
            node.SendJoin(room, $"user{i}@localhost/r", $"user{i}");
        await node.InspectAsync(room);

        var messages = messagesPerSecond * seconds;
        var interval = TimeSpan.FromSeconds(1.0 / messagesPerSecond);
        var sentAt = new long[messages + 1];
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= messages; i++)
        {
            var due = interval * i;
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            sentAt[i] = Stopwatch.GetTimestamp();
            node.Send(BenchNode.Message(room, i));
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (sink.Count < messages && DateTime.UtcNow < deadline) await Task.Delay(50);

        var latencies = Enumerable.Range(1, messages)
            .Select(i => sink.FirstCopyAt(i) is { } at ? Stopwatch.GetElapsedTime(sentAt[i], at).TotalMilliseconds : double.NaN)
            .ToArray();
        var arrived = latencies.Where(l => !double.IsNaN(l)).Order().ToArray();
        double Percentile(double p) => arrived[Math.Min(arrived.Length - 1, (int)(p * arrived.Length))];
        var over20 = arrived.Count(l => l > 20);
        Console.WriteLine($"| {occupants} occupants, {messagesPerSecond} messages/s for {seconds} s, snapshot every {snapshotEvery} | " +
                          $"p50 {Percentile(0.50):F2} ms, p99 {Percentile(0.99):F2} ms, max {arrived[^1]:F2} ms, {over20} over 20 ms, " +
                          $"{messages - arrived.Length} missing; over 20 ms by second of the run: {SlowBySecond(latencies, messagesPerSecond)} |");
    }

    /// <summary>Whether the slow ones are one stall or spread out, and whether they sit at the start (warm-up) or later.</summary>
    private static string SlowBySecond(double[] latencies, int messagesPerSecond)
    {
        var seconds = latencies.Select((latency, index) => (latency, second: index / messagesPerSecond))
            .Where(m => m.latency > 20).GroupBy(m => m.second).Select(g => $"{g.Key}s×{g.Count()}").ToList();
        return seconds.Count == 0 ? "none" : string.Join(" ", seconds);
    }

    /// <summary>When the first copy of each numbered message (<see cref="BenchNode.Message"/>'s id) left the room.</summary>
    private sealed class FirstCopySink : IStanzaSink
    {
        private readonly ConcurrentDictionary<int, long> _firstCopyAt = new();

        public int Count => _firstCopyAt.Count;

        public long? FirstCopyAt(int message) => _firstCopyAt.TryGetValue(message, out var at) ? at : null;

        public void Send(IReadOnlyList<Delivery> deliveries)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var delivery in deliveries)
            {
                var stanza = delivery.Stanza;
                if (stanza.Name.LocalName == "message" && stanza.Attribute("type")?.Value == "groupchat"
                    && stanza.Attribute("id")?.Value is ['m', .. var number] && int.TryParse(number, out var message))
                    _firstCopyAt.TryAdd(message, now);
            }
        }
    }
}
