using System.Diagnostics;
using System.Xml.Linq;
using Dmuc.LoadTest.Client;
using Dmuc.LoadTest.Servers;

namespace Dmuc.LoadTest.Scenarios;

/// <summary>
/// A room's archive (XEP-0313) paged back to its first message by a client outside the room while the room's
/// occupants talk at a fixed rate: the time to the last page, and the live messages' latency without and with the
/// reader. Prosody's own MUC keeps its archive with muc_mam on SQLite, Dmuc in its journal (SQLite).
/// </summary>
public static class ArchivePaging
{
    /// <summary>Prosody's default and largest page (max_archive_query_results).</summary>
    public const int PageSize = 50;

    private const int PagerIndex = 900_000;
    /// <summary>What Prosody's own MUC archives through the room before its store is grown by copies (ProsodyArchiveStore).</summary>
    private const int ProsodyFilledThroughRoom = 5_000;
    private static readonly TimeSpan FillSlice = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LiveSlice = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PageTimeout = TimeSpan.FromMinutes(2);
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    public static async Task<IReadOnlyList<Metric>> RunAsync(int archived, int occupants, double liveRate, Backend backend, RunSettings settings,
        Action<string> progress, CancellationToken cancellationToken)
    {
        await using var server = await ServerUnderTest.StartAsync(backend, settings.NodeExecutable, cancellationToken, archived: true);
        try
        {
            await using var room = await RoomUnderLoad.ConnectAsync(server, occupants, cancellationToken);
            await room.JoinAllAsync(cancellationToken);
            var senders = Math.Min(settings.MaxSenders, occupants);

            // Filled through the room like any discussion, as fast as the room takes it, in slices (so it overshoots a little).
            var growsStore = backend is { Muc: MucService.ServerOwn, Server: XmppServerKind.Prosody };
            var throughRoom = growsStore ? Math.Min(archived, ProsodyFilledThroughRoom) : archived;
            var fill = Stopwatch.StartNew();
            long said = 0;
            while (said < throughRoom)
                said += (await room.SaturateAsync(senders, settings.SaturationWindow, FillSlice, settings.DrainTimeout, cancellationToken)).MessagesSent;
            var fillRate = said / fill.Elapsed.TotalSeconds;
            var copied = growsStore ? await ProsodyArchiveStore.GrowAsync(server.HostOf(0).Settings, archived, cancellationToken) : 0;
            progress($"filled with {said:N0} messages through the room in {fill.Elapsed.TotalSeconds:0.0} s, {copied:N0} copied in the store");

            var quiet = await room.SendAtRateAsync(senders, liveRate, settings.PhaseDuration, settings.DrainTimeout, cancellationToken);
            progress($"live {liveRate} msg/s, nobody paging: p99 {quiet.Latency.Percentile(99) / 1000.0:0.00} ms");

            var host = server.HostOf(PagerIndex);
            await using var pager = await LoadClient.ConnectAsync(host.ClientEndpoint, host.Domain, PagerIndex, cancellationToken);
            var paging = PageBackAsync(pager, room.RoomJid, cancellationToken);
            var during = new LatencyHistogram();
            long undelivered = 0;
            // Live traffic in short slices for as long as the pager pages, so that nothing measured falls outside it.
            while (!paging.IsCompleted)
            {
                var slice = await room.SendAtRateAsync(senders, liveRate, LiveSlice, settings.DrainTimeout, cancellationToken);
                during.Add(slice.Latency);
                undelivered += slice.Lost;
            }
            var paged = await paging;
            progress($"paged {paged.Pages:N0} pages, {pager.StrayMessages:N0} results, archive count {paged.Count:N0}, in {paged.Elapsed.TotalSeconds:0.0} s; " +
                     $"live p99 meanwhile {during.Percentile(99) / 1000.0:0.00} ms");
            return
            [
                new("fill: messages said through the room", said, "N0"),
                new("fill: messages/s through the room", fillRate, "N0"),
                new("fill: messages copied in the store", copied, "N0"),
                // Prosody's muc_mam sends no <count/>.
                new("archive: messages counted by the first page", paged.Count < 0 ? double.NaN : paged.Count, "N0"),
                new($"paging back, {PageSize} a page: pages", paged.Pages, "N0"),
                new($"paging back, {PageSize} a page: results received", pager.StrayMessages, "N0"),
                new($"paging back, {PageSize} a page: time to the last page (s)", paged.Elapsed.TotalSeconds, "0.0"),
                new($"paging back, {PageSize} a page: pages/s", paged.Pages / paged.Elapsed.TotalSeconds, "0.0"),
                new($"live {liveRate:0} msg/s, nobody paging: latency p50 (ms)", quiet.Latency.Percentile(50) / 1000.0, "0.00"),
                new($"live {liveRate:0} msg/s, nobody paging: latency p99 (ms)", quiet.Latency.Percentile(99) / 1000.0, "0.00"),
                new($"live {liveRate:0} msg/s while paging: latency p50 (ms)", during.Percentile(50) / 1000.0, "0.00"),
                new($"live {liveRate:0} msg/s while paging: latency p99 (ms)", during.Percentile(99) / 1000.0, "0.00"),
                new($"live {liveRate:0} msg/s while paging: latency max (ms)", during.MaxMicroseconds / 1000.0, "0.00"),
                new($"live {liveRate:0} msg/s while paging: undelivered", undelivered, "N0"),
            ];
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            throw new InvalidOperationException($"archive paging against {backend.Name} failed: {error.Message}\n" + server.DescribeForFailure(), error);
        }
    }

    private sealed record Paged(int Pages, long Count, TimeSpan Elapsed);

    /// <summary>Pages from the newest message back (RSM &lt;before/&gt;) until the archive says the result is complete.</summary>
    private static async Task<Paged> PageBackAsync(LoadClient pager, string roomJid, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pages = 0;
        long count = -1;
        var before = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            var id = $"page{++pages}";
            var answer = XElement.Parse(await pager.RequestAsync(
                $"<iq type='set' id='{id}' to='{roomJid}'><query xmlns='{Mam}' queryid='{id}'><set xmlns='{Rsm}'><max>{PageSize}</max><before>{before}</before></set></query></iq>",
                PageTimeout));
            var fin = answer.Element(Mam + "fin") ?? throw new InvalidOperationException($"Archive page {pages} refused: {answer}");
            var set = fin.Element(Rsm + "set");
            if (count < 0) count = long.Parse(set?.Element(Rsm + "count")?.Value ?? "-1");
            if (fin.Attribute("complete")?.Value == "true" || set?.Element(Rsm + "first")?.Value is not { } first) break;
            before = first;
        }
        return new Paged(pages, count, clock.Elapsed);
    }
}
