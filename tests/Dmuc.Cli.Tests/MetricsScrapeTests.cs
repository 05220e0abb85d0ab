using System.Net;
using System.Net.Http.Headers;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Cli.Tests;

/// <summary>
/// The node's /metrics after real traffic through Prosody: a node of its own (<see cref="ManagedNode"/>: the room
/// Verona with Romeo and Juliet, who said three things), scraped over HTTP as Prometheus does.
/// </summary>
public sealed class MetricsScrapeTests(ManagedNode node, ITestOutputHelper log) : IClassFixture<ManagedNode>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private async Task<List<PrometheusSample>> ScrapeAsync()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, node.Url + "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ManagedNode.Token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return PrometheusText.Parse(text);
    }

    private async Task<List<PrometheusSample>> ScrapeUntilAsync(Func<List<PrometheusSample>, bool> holds, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var samples = await ScrapeAsync();
            if (holds(samples)) return samples;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Counters_and_gauges_match_the_traffic_sent_through_the_room()
    {
        const int messages = 7;
        const int occupants = 2;
        var fixtureMessages = ManagedNode.VeronaMessages.Length;
        var before = await ScrapeUntilAsync(s => s.Value("dmuc_messages_accepted_total") == fixtureMessages, "the fixture's messages");

        for (var i = 0; i < messages; i++) await node.Juliet.SayAsync(ManagedNode.Verona, $"metrics message {i}");
        // Romeo's copies are handed to the component in the same call as Juliet's echo, but wait for his last one anyway.
        await node.Romeo.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, $"metrics message {messages - 1}"));

        var after = await ScrapeUntilAsync(s => s.Value("dmuc_messages_accepted_total") == fixtureMessages + messages, "the new messages");
        log.WriteLine(string.Join("\n", after.Where(s => s.Name.StartsWith("dmuc_")).Select(s => $"{s.Name} {string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))} {s.Value}")));

        Assert.Equal(messages * occupants, after.Value("dmuc_deliveries_total") - before.Value("dmuc_deliveries_total"));
        Assert.Equal(1, after.Value("dmuc_rooms"));
        Assert.Equal(occupants, after.Value("dmuc_occupants", ("location", "local")));
        Assert.Equal(0, after.Value("dmuc_occupants", ("location", "remote")));
        Assert.Equal(0, after.Value("dmuc_replica_rooms"));
        // Every message goes to the room's history, one journal write each.
        var writes = after.Value("dmuc_journal_write_duration_seconds_count") - before.Value("dmuc_journal_write_duration_seconds_count");
        Assert.True(writes >= messages, $"{writes} journal writes for {messages} messages");
        Assert.True(after.Value("dmuc_journal_write_duration_seconds_sum") > 0);
        // A node on its own has no replica links, and says so with zeros rather than nothing.
        foreach (var end in new[] { "primary", "replica" })
        foreach (var state in new[] { "linked", "split", "rejoining" })
            Assert.Equal(0, after.Value("dmuc_replica_links", ("end", end), ("state", state)));
    }

    /// <summary>The runtime's own figures beside Dmuc's: what a latency tail is read against (a GC pause, a compile).</summary>
    [Fact]
    public async Task The_runtime_s_garbage_collections_pauses_and_compiles_are_exported()
    {
        var samples = await ScrapeAsync();
        Assert.True(samples.Value("dotnet_gc_collections_total", ("gc_heap_generation", "gen0")) >= 0);
        Assert.True(samples.Value("dotnet_gc_pause_time_seconds_total") >= 0);
        Assert.True(samples.Value("dotnet_jit_compilation_time_seconds_total") > 0, "a node compiles methods at start");
    }

    [Fact]
    public async Task Room_and_occupant_gauges_follow_a_room_opened_and_left_by_its_only_occupant()
    {
        const string room = "mantua@conference.localhost";
        await using var friar = await XmppTestClient.ConnectAsync(node.ClientEndpoint, "laurence@localhost/cell", "x");
        var baseline = await ScrapeAsync();
        var occupantsBefore = baseline.Value("dmuc_occupants", ("location", "local"));
        var roomsBefore = baseline.Value("dmuc_rooms");

        await ManagedNode.OpenRoomAsync(room, friar, "Laurence");
        await ScrapeUntilAsync(s => s.Value("dmuc_rooms") == roomsBefore + 1 && s.Value("dmuc_occupants", ("location", "local")) == occupantsBefore + 1,
            "the new room and its occupant");

        await friar.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", room + "/Laurence"), new XAttribute("type", "unavailable")));
        // A room nobody is in and that is not persistent is gone with its last occupant.
        await ScrapeUntilAsync(s => s.Value("dmuc_occupants", ("location", "local")) == occupantsBefore && s.Value("dmuc_rooms") == roomsBefore,
            "the occupant and the room to be gone");
    }

    [Fact]
    public async Task Scrape_needs_the_token()
    {
        using var http = new HttpClient();
        var response = await http.GetAsync(node.Url + "/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
