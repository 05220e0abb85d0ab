using System.Net;
using System.Net.Http.Headers;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Cli.Tests;

/// <summary>
/// Both ends of a replica link in their metrics: a primary for verona.example and a replica for mantua.example, each
/// behind its own Prosody, each with its management endpoint; a room with a user of each host.
/// </summary>
public sealed class ReplicationMetricsTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string MucDomain = "conference.example";
    private const string PrimaryHost = "verona.example";
    private const string ReplicaHost = "mantua.example";
    private const string Room = "tomb@" + MucDomain;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly List<IAsyncDisposable> _stopInOrder = [];
    private string _primaryUrl = "";
    private string _replicaUrl = "";
    private XmppTestClient _romeo = null!;
    private XmppTestClient _balthasar = null!;

    public async Task InitializeAsync()
    {
        var prosodies = await Task.WhenAll(new[] { PrimaryHost, ReplicaHost }.Select(host => ProsodyServer.StartAsync(
            new ProsodyOptions(MucHosting.ExternalComponent) { Domain = host, MucDomain = MucDomain, ServiceAdmins = [], LogLevel = "info" })));
        _stopInOrder.AddRange(prosodies);
        var ports = FreeTcpPorts.Pick(3);
        _primaryUrl = $"http://127.0.0.1:{ports[1]}";
        _replicaUrl = $"http://127.0.0.1:{ports[2]}";
        var primarySettings = InProcessDmucNode.PrimarySettings(PrimaryHost, ports[0]);
        primarySettings["Dmuc:Management:Url"] = _primaryUrl;
        var primary = await InProcessDmucNode.StartAsync(prosodies[0].ComponentEndpoint, primarySettings, CancellationToken.None);
        _stopInOrder.Add(primary);
        var replicaSettings = InProcessDmucNode.ReplicaSettings(ReplicaHost, ports[0]);
        replicaSettings["Dmuc:Management:Url"] = _replicaUrl;
        var replica = await InProcessDmucNode.StartAsync(prosodies[1].ComponentEndpoint, replicaSettings, CancellationToken.None);
        _stopInOrder.Add(replica);
        await InProcessDmucNode.WaitUntilClusterFormedAsync(primary, new Dictionary<string, InProcessDmucNode> { [ReplicaHost] = replica },
            CancellationToken.None);
        foreach (var prosody in prosodies) await prosody.WaitForComponentAsync(TimeSpan.FromSeconds(15));

        _romeo = await XmppTestClient.ConnectAsync(prosodies[0].ClientEndpoint, $"romeo@{PrimaryHost}/tomb", "x");
        _stopInOrder.Add(_romeo);
        _balthasar = await XmppTestClient.ConnectAsync(prosodies[1].ClientEndpoint, $"balthasar@{ReplicaHost}/road", "x");
        _stopInOrder.Add(_balthasar);
    }

    public async Task DisposeAsync()
    {
        for (var i = _stopInOrder.Count - 1; i >= 0; i--) await _stopInOrder[i].DisposeAsync();
    }

    [Fact]
    public async Task Each_end_counts_its_link_its_rooms_and_the_same_inter_node_traffic()
    {
        const int messages = 5;
        await ManagedNode.OpenRoomAsync(Room, _romeo, "Romeo");
        await _balthasar.JoinRoomAsync(Room, "Balthasar");
        var replicaBefore = await ScrapeAsync(_replicaUrl);
        for (var i = 0; i < messages; i++) await _romeo.SayAsync(Room, $"news from Verona {i}");
        await _balthasar.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, $"news from Verona {messages - 1}"));

        var primary = await ScrapeUntilAsync(_primaryUrl, s => s.Value("dmuc_occupants", ("location", "remote")) == 1, "the remote occupant");
        Assert.Equal(1, primary.Value("dmuc_rooms"));
        Assert.Equal(1, primary.Value("dmuc_occupants", ("location", "local")));
        Assert.Equal(1, primary.Value("dmuc_replica_links", ("end", "primary"), ("state", "linked")));
        Assert.Equal(0, primary.Value("dmuc_replica_links", ("end", "primary"), ("state", "split")));
        Assert.True(primary.Value("dmuc_messages_accepted_total") >= messages);

        var replica = await ScrapeUntilAsync(_replicaUrl, s => s.Value("dmuc_replica_occupants") == 1, "the replica's occupant");
        Assert.Equal(1, replica.Value("dmuc_replica_rooms"));
        Assert.Equal(0, replica.Value("dmuc_rooms"));
        Assert.Equal(1, replica.Value("dmuc_replica_links", ("end", "replica"), ("state", "linked")));
        // The replica's one local occupant gets each message once, through the replica's own component stream.
        Assert.Equal(messages, replica.Value("dmuc_deliveries_total") - replicaBefore.Value("dmuc_deliveries_total"));

        // What one end serialized the other deserialized: batches down, the replica user's stanzas up.
        var batchesSent = primary.Value("dmuc_internode_messages_total", ("kind", "batch"), ("direction", "sent"));
        Assert.True(batchesSent >= messages, $"{batchesSent} batches for {messages} messages");
        Assert.Equal(batchesSent, replica.Value("dmuc_internode_messages_total", ("kind", "batch"), ("direction", "received")));
        Assert.Equal(primary.Value("dmuc_internode_traffic_bytes_total", ("kind", "batch"), ("direction", "sent")),
            replica.Value("dmuc_internode_traffic_bytes_total", ("kind", "batch"), ("direction", "received")));
        var forwardsSent = replica.Value("dmuc_internode_messages_total", ("kind", "forward"), ("direction", "sent"));
        Assert.True(forwardsSent >= 1, "the replica forwarded Balthasar's entry");
        Assert.Equal(forwardsSent, primary.Value("dmuc_internode_messages_total", ("kind", "forward"), ("direction", "received")));
    }

    private async Task<List<PrometheusSample>> ScrapeAsync(string url)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(url + "/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return PrometheusText.Parse(text);
    }

    private async Task<List<PrometheusSample>> ScrapeUntilAsync(string url, Func<List<PrometheusSample>, bool> holds, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var samples = await ScrapeAsync(url);
            if (holds(samples))
            {
                log.WriteLine($"{url}:\n" + string.Join("\n", samples.Where(s => s.Name.StartsWith("dmuc_") && !s.Name.EndsWith("_bucket"))
                    .Select(s => $"{s.Name}{{{string.Join(",", s.Labels.Where(l => l.Key != "otel_scope_name").Select(l => $"{l.Key}={l.Value}"))}}} {s.Value}")));
                return samples;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(100);
        }
    }
}
