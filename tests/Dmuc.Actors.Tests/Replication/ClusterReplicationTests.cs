using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>The Wallops nodes (avalon.irc primary; killrc, eris and vesa replicas), started once for a test class.</summary>
public sealed class WallopsClusterFixture : IAsyncLifetime
{
    public DmucTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await DmucTestCluster.StartAsync(Nodes);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// Rooms on a four-node cluster with occupants on every host: what each user sees, and what crosses the
/// wire between nodes. Each test has a room of its own on the shared cluster.
/// </summary>
public sealed class ClusterReplicationTests(WallopsClusterFixture fixture) : IClassFixture<WallopsClusterFixture>
{
    private static readonly ChatUser Marvin = new("Marvin", "marvin@avalon.irc/desk");
    /// <summary>One user of every host, the primary's own included; WiZ (admin) and Troy are the moderators beside the owner.</summary>
    private static readonly ChatUser[] Everyone = [Wumpus, Valdis, Phaedrus, WiZ, Troy, BigCheese, Efchen, Marvin];

    private DmucTestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Every_occupant_on_every_host_sees_every_other_occupant_and_itself_with_status_110()
    {
        var room = await PopulatedRoomAsync("roster");

        var unseen = from user in Everyone
                     from shown in Everyone
                     let received = ReceivedIn(room, user)
                     where !(shown == user
                         ? received.Any(Received.OwnPresence(room.Jid, user.Nick))
                         : received.Any(stanza => Received.PresenceOf(room.Jid, shown.Nick)(stanza) && !stanza.HasStatus(110)))
                     select $"{user.Nick} did not see {shown.Nick}";
        Assert.Empty(unseen);
    }

    [Fact]
    public async Task No_occupant_on_any_host_receives_a_stanza_twice()
    {
        var room = await PopulatedRoomAsync("once");
        Cluster.SendFromUser(UpdatePresence(Efchen, room.Jid, "away"));
        Cluster.SendFromUser(Say(Valdis, room.Jid, "once only", id: "once"));
        await room.SettleAsync(Everyone);

        // Every presence and message of this room differs from every other one (roles, shows, bodies, stanza ids).
        foreach (var user in Everyone)
        {
            var received = ReceivedIn(room, user);
            var duplicates = received.Where((stanza, index) => received.Skip(index + 1).Any(later => XNode.DeepEquals(stanza, later)));
            Assert.Empty(duplicates);
        }
    }

    [Fact]
    public async Task A_groupchat_message_reaches_every_occupant_once_as_one_batch_per_replica_host()
    {
        var room = await PopulatedRoomAsync("wallops");
        var marks = BatchMarks(room);
        const string body = "Phaedrus, we're all having a truly rotten time.";

        Cluster.SendFromUser(Say(BigCheese, room.Jid, body, id: "rotten"));
        await room.SettleAsync(Everyone);

        var copies = Everyone.ToDictionary(user => user.Nick, user => ReceivedIn(room, user).Where(Received.GroupchatBody(body))
            .Select(copy => copy.Attribute("from")?.Value).ToList());
        Assert.All(copies, copiesOf => Assert.Equal([room.OccupantJid(BigCheese.Nick)], copiesOf.Value));
        foreach (var host in ReplicaHosts)
        {
            var batch = Assert.Single(BatchesSince(room, marks, host), b => CarriesBody(b, body));
            var item = Assert.Single(batch.Items);
            Assert.Null(item.Recipients);
            Assert.NotNull(item.Delay);
        }
        Assert.Empty(BatchesSince(room, marks, Avalon));
    }

    [Fact]
    public async Task Ten_occupants_on_one_replica_host_cost_one_batch_per_message()
    {
        var room = new ClusterRoom(Cluster, "crowd@" + Service);
        var crowd = Enumerable.Range(1, 10).Select(i => new ChatUser($"Fan{i}", $"fan{i}@{Vesa}/phone")).ToList();
        List<ChatUser> occupants = [Wumpus, .. crowd];
        await room.CreateAsync(Wumpus);
        await room.EnterAllAsync(crowd);
        await room.SettleAsync(occupants);
        var mark = Cluster.Node(Vesa).Batches.Mark(room.Jid);

        Cluster.SendFromUser(Say(Wumpus, room.Jid, "Hello, crowd", id: "hello"));
        var barriers = await room.SettleAsync(occupants);

        // One batch per command (the message, then each barrier), however many occupants it reaches.
        var batches = Cluster.Node(Vesa).Batches.Since(room.Jid, mark);
        Assert.Equal(1 + barriers.Count, batches.Count);
        var item = Assert.Single(Assert.Single(batches, batch => CarriesBody(batch, "Hello, crowd")).Items);
        Assert.True(item is { Recipients: null, Except: null });
        var deliveries = Cluster.Received(Vesa).All.Where(d => d.Stanza.IsGroupchatWithBody("Hello, crowd")).ToList();
        Assert.Equal(crowd.Select(fan => fan.Jid).Order(), deliveries.Select(d => d.To.ToString()).Order());
        Assert.All(deliveries, d => Assert.Equal(room.OccupantJid(Wumpus.Nick), d.Stanza.Attribute("from")?.Value));
    }

    [Fact]
    public async Task Private_messages_and_iqs_reach_occupants_on_other_hosts_and_find_their_way_back()
    {
        var room = await PopulatedRoomAsync("private");

        Cluster.SendFromUser(PrivateMessage(Valdis, room.Jid, WiZ.Nick, "psst"));
        Cluster.SendFromUser(PrivateMessage(Marvin, room.Jid, BigCheese.Nick, "brain the size of a planet"));
        var toWiz = await Cluster.WaitForAsync(WiZ.Jid, stanza => stanza.Element(Ns.Client + "body")?.Value == "psst");
        var toBigCheese = await Cluster.WaitForAsync(BigCheese.Jid, stanza => stanza.Element(Ns.Client + "body")?.Value == "brain the size of a planet");
        Assert.Equal(room.OccupantJid(Valdis.Nick), toWiz.Attribute("from")?.Value);
        Assert.Equal(room.OccupantJid(Marvin.Nick), toBigCheese.Attribute("from")?.Value);

        Cluster.SendFromUser(Ping(Efchen, room.Jid, Troy.Nick, id: "ping-1"));
        var atTroy = await Cluster.WaitForAsync(Troy.Jid, stanza => stanza.Name == Ns.Client + "iq" && stanza.Element(Ns.Ping + "ping") is not null);
        Assert.Equal(room.OccupantJid(Efchen.Nick), atTroy.Attribute("from")?.Value);
        Cluster.SendFromUser(IqResult(Troy, room.OccupantJid(Efchen.Nick), atTroy.Attribute("id")!.Value));
        var pong = await Cluster.WaitForAsync(Efchen.Jid, Received.IqReply("ping-1", room.OccupantJid(Troy.Nick)));
        Assert.True(pong.IsIqResult("ping-1"), pong.ToString());
        Assert.Equal(room.OccupantJid(Troy.Nick), pong.Attribute("from")?.Value);
    }

    [Fact]
    public async Task A_nick_change_and_a_departure_are_seen_on_every_host()
    {
        var room = await PopulatedRoomAsync("nicks");
        var others = Everyone.Where(user => user != Phaedrus).ToList();

        Cluster.SendFromUser(ChangeNick(Phaedrus, room.Jid, "Phaedrus_"));
        await room.SettleAsync(Everyone);
        var renamed = Phaedrus with { Nick = "Phaedrus_" };
        Cluster.SendFromUser(Leave(renamed, room.Jid));
        var afterDeparture = await room.SettleAsync(others);

        foreach (var user in others)
        {
            var received = ReceivedIn(room, user);
            var moved = Assert.Single(received, Received.PresenceOf(room.Jid, Phaedrus.Nick, available: false).Invoke);
            Assert.True(moved.HasStatus(303));
            Assert.Equal("Phaedrus_", moved.Descendants(Ns.MucUser + "item").Single().Attribute("nick")?.Value);
            Assert.Single(received, Received.PresenceOf(room.Jid, "Phaedrus_").Invoke);
            Assert.Single(received, Received.PresenceOf(room.Jid, "Phaedrus_", available: false).Invoke);
        }
        // Gone from killrc's distribution list: killrc's barrier came after the departure, on the same path.
        Assert.DoesNotContain(ReceivedIn(room, Phaedrus), Received.GroupchatBody(afterDeparture[Killrc]).Invoke);
    }

    [Fact]
    public async Task A_moderator_on_one_replica_host_kicks_an_occupant_of_another()
    {
        var room = await PopulatedRoomAsync("kick");
        var others = Everyone.Where(user => user != BigCheese).ToList();

        await room.SubmitAsync(WiZ, SetRole(WiZ, room.Jid, BigCheese.Nick, "none", id: "kick"));
        var afterKick = await room.SettleAsync(others);

        var kicked = await Cluster.WaitForAsync(BigCheese.Jid, Received.PresenceOf(room.Jid, BigCheese.Nick, available: false));
        Assert.True(kicked.HasStatus(307) && kicked.HasStatus(110), kicked.ToString());
        var departures = others.ToDictionary(user => user.Nick,
            user => ReceivedIn(room, user).Where(Received.PresenceOf(room.Jid, BigCheese.Nick, available: false)).ToList());
        Assert.All(departures, seen => Assert.True(Assert.Single(seen.Value).HasStatus(307)));
        // The kick was answered before any barrier was said.
        Assert.DoesNotContain(ReceivedIn(room, BigCheese), stanza => afterKick.Values.Any(body => stanza.IsGroupchatWithBody(body)));
    }

    [Fact]
    public async Task A_replica_host_without_moderators_never_receives_another_occupants_real_jid()
    {
        var room = await PopulatedRoomAsync("anonymity");
        Cluster.SendFromUser(UpdatePresence(Valdis, room.Jid, "away"));
        Cluster.SendFromUser(ChangeNick(Phaedrus, room.Jid, "Phaedrus_"));
        Cluster.SendFromUser(Say(Troy, room.Jid, "hello from eris", id: "eris"));
        Cluster.SendFromUser(Leave(Marvin, room.Jid));
        await room.SettleAsync(Everyone.Where(user => user != Marvin).ToList());

        // vesa's occupants (BigCheese, Efchen) are participants: only their own JIDs may reach vesa.
        Assert.All(RealJidsIn(Cluster.Node(Vesa).Batches.For(room.Jid)), jid => Assert.Equal(Vesa, jid.Domain));
        // killrc has a moderator (Wumpus), who must see everyone's.
        Assert.Contains(RealJidsIn(Cluster.Node(Killrc).Batches.For(room.Jid)), jid => jid.Domain == Vesa);
    }

    /// <summary>
    /// Wumpus creates the room and makes WiZ an admin; everyone enters; Wumpus gives Troy moderator. As in the
    /// XEP's §3.1, except that Marvin stands in for the primary's own host.
    /// </summary>
    private async Task<ClusterRoom> PopulatedRoomAsync(string name)
    {
        var room = new ClusterRoom(Cluster, $"{name}@{Service}");
        await room.CreateAsync(Wumpus);
        await room.SubmitAsync(Wumpus, SetAffiliation(Wumpus, room.Jid, WiZ.BareJid, "admin"));
        await room.EnterAllAsync(Everyone.Where(user => user != Wumpus));
        await room.SubmitAsync(Wumpus, SetRole(Wumpus, room.Jid, Troy.Nick, "moderator"));
        await room.SettleAsync(Everyone);
        return room;
    }

    private List<XElement> ReceivedIn(ClusterRoom room, ChatUser user) =>
        Cluster.ReceivedBy(user.Jid).Where(stanza => Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare.ToString() == room.Jid).ToList();

    private Dictionary<string, int> BatchMarks(ClusterRoom room) =>
        Cluster.Nodes.ToDictionary(node => node.Host, node => node.Batches.Mark(room.Jid));

    private IReadOnlyList<ReplicaBatch> BatchesSince(ClusterRoom room, Dictionary<string, int> marks, string host) =>
        Cluster.Node(host).Batches.Since(room.Jid, marks[host]);

    private static bool CarriesBody(ReplicaBatch batch, string body) =>
        batch.Items.Any(item => item.Stanza.Element(Ns.Client + "body")?.Value == body);

    /// <summary>Every real JID in muc#user items of the batches, as they travelled (their XEP-0282 XML).</summary>
    private static IEnumerable<Jid> RealJidsIn(IEnumerable<ReplicaBatch> batches) =>
        batches.Select(batch => DmucCodec.ToXml(batch))
            .SelectMany(xml => xml.Descendants(Ns.MucUser + "item"))
            .Select(item => item.Attribute("jid")?.Value).OfType<string>()
            .Select(Jid.Parse);
}
