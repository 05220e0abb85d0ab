using System.Diagnostics.Metrics;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Telemetry;
using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// XEP-0033 multicast through a real server: Prosody with deploy/prosody's mod_dmuc_multicast, ejabberd with
/// deploy/ejabberd's mod_dmuc_multicast or its own mod_multicast. A broadcast leaves the node as one stanza; every
/// occupant still gets exactly one copy, and a participant of a semi-anonymous room learns no other user's real JID,
/// from the room or from the address list.
/// </summary>
public sealed class MulticastTests
{
    private const string Host = "localhost";
    private const string MucDomain = "conference.localhost";
    private const string Room = "verona@" + MucDomain;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(15);
    private static readonly XNamespace Address = MulticastDiscovery.AddressFeature;

    [Fact]
    public async Task Through_Prosody_a_broadcast_leaves_the_node_once_and_reaches_every_occupant_once()
    {
        await using var server = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await PlayRoomThroughMulticastAsync(server, expectedService: Host, new Dictionary<string, string?>());
    }

    [EjabberdFact]
    [Trait("Category", "Ejabberd")]
    public async Task Through_ejabberd_with_Dmucs_module_a_broadcast_leaves_the_node_once_and_reaches_every_occupant_once()
    {
        await using var server = await EjabberdServer.StartAsync(new EjabberdOptions(Host, MucDomain));
        // deploy/ejabberd's mod_dmuc_multicast answers on the host itself and keeps the stream's order: no setting needed.
        await PlayRoomThroughMulticastAsync(server, expectedService: Host, new Dictionary<string, string?>());
    }

    /// <summary>An operator without Dmuc's module can still use ejabberd's own mod_multicast, when told it may reorder.</summary>
    [EjabberdFact]
    [Trait("Category", "Ejabberd")]
    public async Task Through_ejabberds_mod_multicast_a_broadcast_leaves_the_node_once_and_reaches_every_occupant_once()
    {
        await using var server = await EjabberdServer.StartAsync(new EjabberdOptions(Host, MucDomain) { Multicast = EjabberdMulticastService.ModMulticast });
        // mod_multicast is a process of its own: the node uses it only when told that IQ answers may overtake broadcasts.
        await PlayRoomThroughMulticastAsync(server, expectedService: "multicast." + Host,
            new Dictionary<string, string?> { ["Dmuc:Multicast:AllowUnordered"] = "true" });
    }

    /// <summary>
    /// XEP-0282 over three Prosodies: the primary sends each replica host one batch, and each node then multicasts to
    /// its own host's users; the home host's lone user gets a plain stanza (mod_dmuc_multicast keeps the stream's order).
    /// </summary>
    [Fact]
    public async Task Over_three_hosts_each_node_multicasts_to_its_own_hosts_users()
    {
        const string mucDomain = "channel.avalon.irc";
        const string room = "wallops@" + mucDomain;
        string[] hosts = ["avalon.irc", "killrc.oulubox.irc", "eris.dclxvii.irc"];
        await using var deployment = await MultiHostEnvironment.StartAsync(mucDomain, hosts[0], hosts[1..], ["admin@avalon.irc"]);
        foreach (var host in hosts) Assert.Equal(host, await MulticastServiceOfAsync(deployment.Node(host)));
        var counters = hosts.ToDictionary(host => host, host => new MulticastCounter(deployment.Node(host).Services.GetRequiredService<DmucMetrics>()));
        try
        {
            Task<RoomParticipant> EnterAsUserOfAsync(string user, string host) =>
                EnterAsync(deployment.ClientEndpointFor(host)!, $"{user}@{host}/laptop", room, user);
            await using var alice = await EnterAsUserOfAsync("alice", hosts[0]);
            await alice.Client.ConfigureRoomAsync(room);
            // All at once: each replica merges the roster presences of its entrants' joins as the primary does for its own.
            var entered = await Task.WhenAll(EnterAsUserOfAsync("argl", hosts[1]), EnterAsUserOfAsync("valdis", hosts[1]),
                EnterAsUserOfAsync("squit", hosts[2]), EnterAsUserOfAsync("troy", hosts[2]));
            await using var argl = entered[0];
            await using var valdis = entered[1];
            await using var squit = entered[2];
            await using var troy = entered[3];
            await RoomParticipant.SeeEachOtherAsync([alice, .. entered]);
            var before = counters.ToDictionary(counter => counter.Key, counter => counter.Value.Snapshot());

            await alice.SendGroupchatAsync("Wallops: the link to eris is back");
            foreach (var occupant in new[] { alice, argl, valdis, squit, troy })
                await occupant.WaitForAsync(stanza => IsGroupchatBody(stanza, "Wallops: the link to eris is back"), Step);

            foreach (var occupant in new[] { alice, argl, valdis, squit, troy }) await occupant.CatchUpAsync();
            AssertEachSawEveryOtherEnterOnce([alice, .. entered]);
            AssertNoParticipantSawAnotherUsersRealJid([alice, .. entered], entered);
            Assert.Equal((0L, 0L), counters[hosts[0]].Since(before[hosts[0]]));
            Assert.Equal((1L, 2L), counters[hosts[1]].Since(before[hosts[1]]));
            Assert.Equal((1L, 2L), counters[hosts[2]].Since(before[hosts[2]]));
        }
        finally
        {
            foreach (var counter in counters.Values) counter.Dispose();
        }
    }

    [Fact]
    public async Task Behind_a_Prosody_without_multicast_the_node_sends_one_stanza_per_recipient()
    {
        await using var server = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { MulticastModule = false, LogLevel = "info" });
        await using var node = await InProcessDmucNode.StartAsync(server.ComponentEndpoint, new Dictionary<string, string?>(), CancellationToken.None);
        await server.WaitForComponentAsync(Step);
        using var multicast = new MulticastCounter(node.Services.GetRequiredService<DmucMetrics>());

        await using var romeo = await EnterAsync(server.ClientEndpoint, $"romeo@{Host}/balcony", Room, "Romeo");
        await romeo.Client.ConfigureRoomAsync(Room);
        await using var juliet = await EnterAsync(server.ClientEndpoint, $"juliet@{Host}/garden", Room, "Juliet");
        await using var nurse = await EnterAsync(server.ClientEndpoint, $"nurse@{Host}/kitchen", Room, "Nurse");
        await romeo.SendGroupchatAsync("Parting is such sweet sorrow");

        foreach (var occupant in new[] { romeo, juliet, nurse })
            await occupant.WaitForAsync(stanza => IsGroupchatBody(stanza, "Parting is such sweet sorrow"), Step);
        Assert.Null(node.Services.GetRequiredService<ComponentOutbox>().Multicast);
        Assert.Equal(0, multicast.Stanzas);
    }

    /// <summary>
    /// A room reflects what a user puts in a message. A recipient list of the user's own, of either form, must neither reach a
    /// user outside the room (a service that reads the first list would take the user's) nor cost the occupants the message
    /// (a service that finds two lists refuses the stanza): such a broadcast goes to each occupant alone.
    /// </summary>
    [Fact]
    public async Task Through_Prosody_a_recipient_list_in_a_users_message_neither_redirects_nor_blocks_the_broadcast()
    {
        await using var server = await ProsodyServer.StartAsync(new ProsodyOptions(MucHosting.ExternalComponent) { LogLevel = "info" });
        await using var node = await InProcessDmucNode.StartAsync(server.ComponentEndpoint, new Dictionary<string, string?>(), CancellationToken.None);
        await server.WaitForComponentAsync(Step);
        Assert.Equal(Host, await MulticastServiceOfAsync(node));
        await using var outsider = await XmppTestClient.ConnectAsync(server.ClientEndpoint, $"nurse@{Host}/kitchen", "password");
        await outsider.SendInitialPresenceAsync();
        await using var romeo = await EnterAsync(server.ClientEndpoint, $"romeo@{Host}/balcony", Room, "Romeo");
        await romeo.Client.ConfigureRoomAsync(Room);
        await using var juliet = await EnterAsync(server.ClientEndpoint, $"juliet@{Host}/garden", Room, "Juliet");
        await RoomParticipant.SeeEachOtherAsync([romeo, juliet]);

        XElement[] smuggled =
        [
            new(Address + "addresses", new XElement(Address + "address", new XAttribute("type", "bcc"), new XAttribute("jid", outsider.FullJid))),
            new((XNamespace)MulticastDiscovery.CompactFeature + "recipients", outsider.FullJid),
        ];
        foreach (var (list, body) in smuggled.Select((list, index) => (list, $"Smuggled list {index}")))
        {
            await juliet.Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
                new XElement(XmppNamespaces.Client + "body", body), list));
            foreach (var occupant in new[] { romeo, juliet })
                await occupant.WaitForAsync(stanza => IsGroupchatBody(stanza, body), Step);
        }

        var outsiderGot = new List<XElement>();
        while (await outsider.TryReceiveAsync(TimeSpan.FromSeconds(1)) is { } stanza) outsiderGot.Add(stanza);
        Assert.DoesNotContain(outsiderGot, stanza => stanza.Name.LocalName == "message");
    }

    private static async Task PlayRoomThroughMulticastAsync(XmppHostServer server, string expectedService, IReadOnlyDictionary<string, string?> settings)
    {
        await using var node = await InProcessDmucNode.StartAsync(server.ComponentEndpoint, settings, CancellationToken.None);
        await server.WaitForComponentAsync(Step);
        Assert.Equal(expectedService, await MulticastServiceOfAsync(node));
        using var multicast = new MulticastCounter(node.Services.GetRequiredService<DmucMetrics>());

        var endpoint = server.ClientEndpoint;
        await using var romeo = await EnterAsync(endpoint, $"romeo@{Host}/balcony", Room, "Romeo");
        await romeo.Client.ConfigureRoomAsync(Room);
        // Joins all at once: the room merges what their decisions send (each entrant's presence to those before it, and
        // the roster presences to the entrants) into multicasts where the bytes are equal.
        string[] entrants = ["juliet/garden", "mercutio/street", "benvolio/square", "tybalt/alley", "paris/church"];
        var clients = await Task.WhenAll(entrants.Select(entrant => XmppTestClient.ConnectAsync(endpoint, $"{entrant.Split('/')[0]}@{Host}/{entrant.Split('/')[1]}", "password")));
        var entered = await Task.WhenAll(clients.Select(client => RoomParticipant.EnterAsync(client, Room, Capitalized(client.BareJid.Split('@')[0]), Step)));
        await using var juliet = entered[0];
        await using var mercutio = entered[1];
        await using var benvolio = entered[2];
        await using var tybalt = entered[3];
        await using var paris = entered[4];
        RoomParticipant[] everyone = [romeo, .. entered];
        RoomParticipant[] participants = entered;
        await RoomParticipant.SeeEachOtherAsync(everyone);
        Assert.All(everyone, occupant => Assert.Equal(["Benvolio", "Juliet", "Mercutio", "Paris", "Romeo", "Tybalt"], occupant.Roster()));
        Assert.True(multicast.Stanzas > 0, "no join presence went out as a multicast");

        // Groupchat: one stanza for six recipients, one copy each.
        var before = multicast.Snapshot();
        await romeo.SendGroupchatAsync("Two households, both alike in dignity");
        foreach (var occupant in everyone) await occupant.WaitForAsync(stanza => IsGroupchatBody(stanza, "Two households, both alike in dignity"), Step);
        Assert.Equal((Stanzas: 1L, Recipients: 6L), multicast.Since(before));

        // Presence change: every other occupant sees Juliet away.
        await juliet.Client.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", juliet.OccupantJid),
            new XElement(XmppNamespaces.Client + "show", "away")));
        foreach (var occupant in everyone)
            await occupant.WaitForAsync(stanza => (string?)stanza.Attribute("from") == juliet.OccupantJid && stanza.Element(XmppNamespaces.Client + "show")?.Value == "away", Step);

        // A private message reaches its one recipient.
        await mercutio.Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", benvolio.OccupantJid),
            new XAttribute("type", "chat"), new XElement(XmppNamespaces.Client + "body", "A plague o' both your houses")));
        var whisper = await benvolio.WaitForAsync(stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value == "A plague o' both your houses", Step);
        Assert.Equal(mercutio.OccupantJid, (string?)whisper.Attribute("from"));

        await Task.Delay(500);
        foreach (var occupant in everyone) await occupant.CatchUpAsync();
        Assert.All(everyone, occupant => Assert.Equal(1, occupant.CopiesOf("Two households, both alike in dignity")));
        AssertEachSawEveryOtherEnterOnce(everyone);
        Assert.Equal(1, benvolio.Seen.Count(stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value == "A plague o' both your houses"));
        Assert.All(new[] { romeo, juliet, mercutio }, occupant =>
            Assert.DoesNotContain(occupant.Seen, stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value == "A plague o' both your houses"));

        AssertNoParticipantSawAnotherUsersRealJid(everyone, participants);
        // The moderator does see them: the check above looks where a leak would be.
        Assert.Contains(romeo.Seen, stanza => stanza.ToString().Contains(juliet.Client.BareJid, StringComparison.Ordinal));
    }

    /// <summary>Each occupant's entry reached everyone else once, in the roster or as the entrant's presence (a later away has a show).</summary>
    private static void AssertEachSawEveryOtherEnterOnce(IReadOnlyList<RoomParticipant> everyone)
    {
        foreach (var occupant in everyone)
            foreach (var other in everyone.Where(other => other != occupant))
                Assert.True(occupant.Seen.Count(stanza => RoomParticipant.PresenceOf(other.OccupantJid, available: true)(stanza)
                    && stanza.Element(XmppNamespaces.Client + "show") is null) == 1, $"{occupant.Nick} did not see {other.Nick} enter exactly once");
    }

    private static void AssertNoParticipantSawAnotherUsersRealJid(IReadOnlyList<RoomParticipant> everyone, IReadOnlyList<RoomParticipant> participants)
    {
        // Semi-anonymous (the default): a participant sees no other user's real JID, in any stanza, nor anyone's address list.
        var realJids = everyone.Select(occupant => occupant.Client.BareJid).ToList();
        foreach (var participant in participants)
        {
            var leaked = participant.Seen.Select(stanza => stanza.ToString())
                .Where(xml => realJids.Any(jid => jid != participant.Client.BareJid && xml.Contains(jid, StringComparison.Ordinal))).ToList();
            Assert.True(leaked.Count == 0, $"{participant.Nick} saw another user's real JID:\n{string.Join("\n", leaked)}");
            Assert.DoesNotContain(participant.Seen, stanza => stanza.Descendants(Address + "address")
                .Any(address => (string?)address.Attribute("jid") != participant.Client.FullJid));
        }
    }

    private static string Capitalized(string user) => char.ToUpperInvariant(user[0]) + user[1..];

    private static async Task<RoomParticipant> EnterAsync(XmppServerEndpoint server, string jid, string room, string nick) =>
        await RoomParticipant.EnterAsync(await XmppTestClient.ConnectAsync(server, jid, "password"), room, nick, Step);

    private static async Task<string?> MulticastServiceOfAsync(InProcessDmucNode node)
    {
        var outbox = node.Services.GetRequiredService<ComponentOutbox>();
        var deadline = DateTime.UtcNow + Step;
        while (outbox.Multicast is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        return outbox.Multicast?.Service;
    }

    /// <summary>The node's own multicast counters (every node in the process has a meter named Dmuc: this one only).</summary>
    private sealed class MulticastCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _stanzas;
        private long _recipients;

        public MulticastCounter(DmucMetrics metrics)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name.StartsWith("dmuc.multicast.", StringComparison.Ordinal))
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "dmuc.multicast.stanzas") Interlocked.Add(ref _stanzas, value);
                else if (instrument.Name == "dmuc.multicast.recipients") Interlocked.Add(ref _recipients, value);
            });
            _listener.Start();
        }

        public long Stanzas => Interlocked.Read(ref _stanzas);

        public (long Stanzas, long Recipients) Snapshot() => (Stanzas, Interlocked.Read(ref _recipients));

        public (long Stanzas, long Recipients) Since((long Stanzas, long Recipients) before)
        {
            var now = Snapshot();
            return (now.Stanzas - before.Stanzas, now.Recipients - before.Recipients);
        }

        public void Dispose() => _listener.Dispose();
    }
}
