using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.PersistBench;

/// <summary>
/// A reader pages back through a room archive of N messages (XEP-0313, RSM &lt;before/&gt;, a page size like Prosody's
/// default of 50) while the room takes live messages at a steady rate; reports the time to the last page and the
/// live messages' latency (stanza handed to the room → echo out, which waits for the journal write) with and without
/// the reader.
/// </summary>
internal static class ArchivePagingBench
{
    private const string Reader = "reader@localhost/pager";
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    public static async Task RunAsync(int archived, int pageSize, double liveRate)
    {
        using var data = new TempDirectory();
        var sink = new ArchiveBenchSink();
        await using var node = new BenchNode(data.Path, sink, RoomActorSettings.Default.SnapshotEvery);
        var room = BenchNode.RoomName(1);
        await node.CreateRoomAsync(room);

        var fill = Stopwatch.StartNew();
        var filled = sink.ExpectEchoes(archived);
        for (var i = 1; i <= archived; i++) node.Send(BenchNode.Message(room, i));
        await filled.WaitAsync(TimeSpan.FromMinutes(10));
        Console.WriteLine($"| fill: {archived:N0} messages through the room | {fill.Elapsed.TotalSeconds:F1} s |");

        var quiet = await LiveAsync(node, sink, room, liveRate, TimeSpan.FromSeconds(10), "quiet", () => Task.CompletedTask);
        Console.WriteLine($"| live {liveRate:N0} msg/s, no reader: p50 / p99 / max | {quiet} |");

        var pages = 0;
        var results = 0;
        TimeSpan toLastPage = default;
        var during = await LiveAsync(node, sink, room, liveRate, TimeSpan.Zero, "paging", async () =>
        {
            var clock = Stopwatch.StartNew();
            string? before = "";
            while (before is not null)
            {
                var (fin, count) = await sink.QueryAsync(node, room, $"page{++pages}", pageSize, before);
                results += count;
                before = fin.Attribute("complete")?.Value == "true" ? null : fin.Element(Rsm + "set")!.Element(Rsm + "first")!.Value;
            }
            toLastPage = clock.Elapsed;
        });
        Console.WriteLine($"| reader: {pages:N0} pages of {pageSize}, {results:N0} messages, time to the last page | {toLastPage.TotalSeconds:F1} s |");
        Console.WriteLine($"| live {liveRate:N0} msg/s while the reader pages: p50 / p99 / max | {during} |");
    }

    /// <summary>Sends live messages at <paramref name="rate"/> until <paramref name="alongside"/> is done and at least
    /// <paramref name="minimum"/> has passed; returns their latency percentiles.</summary>
    private static async Task<string> LiveAsync(BenchNode node, ArchiveBenchSink sink, string room, double rate, TimeSpan minimum, string tag,
        Func<Task> alongside)
    {
        var work = alongside();
        var clock = Stopwatch.StartNew();
        var sent = new List<Task<TimeSpan>>();
        var interval = TimeSpan.FromSeconds(1 / rate);
        while (!work.IsCompleted || clock.Elapsed < minimum)
        {
            var id = $"{tag}-{sent.Count}";
            sent.Add(sink.EchoOf(id));
            node.Send(XElement.Parse($"<message xmlns='jabber:client' from='{BenchNode.Owner}' to='{room}' type='groupchat' id='{id}'><body>live</body></message>"));
            var next = interval * sent.Count - clock.Elapsed;
            if (next > TimeSpan.Zero) await Task.Delay(next);
        }
        await work;
        var latencies = (await Task.WhenAll(sent)).Select(latency => latency.TotalMilliseconds).Order().ToList();
        string Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))].ToString("F1", CultureInfo.InvariantCulture);
        return $"{Percentile(0.5)} / {Percentile(0.99)} / {latencies[^1].ToString("F1", CultureInfo.InvariantCulture)} ms ({latencies.Count:N0} messages)";
    }

    /// <summary>Sees the room's output: echoes of live messages (timed), archive results and final iqs.</summary>
    private sealed class ArchiveBenchSink : IStanzaSink
    {
        private readonly ConcurrentDictionary<string, (long SentAt, TaskCompletionSource<TimeSpan> Echo)> _live = new();
        private readonly ConcurrentDictionary<string, (TaskCompletionSource<XElement> Fin, int Results)> _queries = new();
        private TaskCompletionSource? _filled;
        private long _echoesToFill;

        public Task ExpectEchoes(long count)
        {
            _echoesToFill = count;
            _filled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _filled.Task;
        }

        public Task<TimeSpan> EchoOf(string id)
        {
            var echo = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            _live[id] = (Stopwatch.GetTimestamp(), echo);
            return echo.Task;
        }

        public async Task<(XElement Fin, int Results)> QueryAsync(BenchNode node, string room, string id, int max, string before)
        {
            var fin = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            _queries[id] = (fin, 0);
            node.Send(new XElement(Ns.Client + "iq", new XAttribute("from", Reader), new XAttribute("to", room), new XAttribute("type", "set"),
                new XAttribute("id", id), new XElement(Mam + "query", new XAttribute("queryid", id),
                    new XElement(Rsm + "set", new XElement(Rsm + "max", max), new XElement(Rsm + "before", before)))));
            var answer = await fin.Task.WaitAsync(TimeSpan.FromMinutes(2));
            _queries.TryRemove(id, out var done);
            return (answer.Element(Mam + "fin") ?? throw new InvalidOperationException($"Query {id} failed: {answer}"), done.Results);
        }

        public void Send(IReadOnlyList<Delivery> deliveries)
        {
            foreach (var delivery in deliveries)
            {
                var stanza = delivery.Stanza;
                if (stanza.Name.LocalName == "iq" && stanza.Attribute("id")?.Value is { } iqId && _queries.TryGetValue(iqId, out var query))
                    query.Fin.TrySetResult(stanza);
                else if (stanza.Element(Mam + "result")?.Attribute("queryid")?.Value is { } queryId && _queries.TryGetValue(queryId, out var running))
                    _queries[queryId] = running with { Results = running.Results + 1 };
                else if (stanza.Attribute("type")?.Value == "groupchat" && delivery.To.ToString() == BenchNode.Owner)
                    Echoed(stanza.Attribute("id")?.Value);
            }
        }

        private void Echoed(string? id)
        {
            if (id is not null && _live.TryRemove(id, out var live))
                live.Echo.TrySetResult(Stopwatch.GetElapsedTime(live.SentAt));
            else if (_filled is not null && Interlocked.Decrement(ref _echoesToFill) == 0)
                _filled.TrySetResult();
        }
    }
}
