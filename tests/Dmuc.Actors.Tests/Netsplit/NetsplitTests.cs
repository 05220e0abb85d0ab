using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>avalon.irc (primary) with replicas killrc and vesa, keepalive at a few hundred milliseconds.</summary>
public sealed class NetsplitClusterFixture : IAsyncLifetime
{
    public NetsplitCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await NetsplitCluster.StartAsync(new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc), new DmucNodeSpec(Vesa));

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// XEP-0282 §4.10–4.11 and our netjoin (docs/protocol/netjoin.md) on a real three-node cluster whose links are cut
/// and healed with the remoting throttler. Each test has a room of its own and heals every link it cut.
/// </summary>
[Collection("netsplit")]
public sealed class NetsplitTests(NetsplitClusterFixture fixture) : IClassFixture<NetsplitClusterFixture>
{
    private static readonly ChatUser[] Everyone = [Trillian, Wumpus, Valdis, BigCheese];

    private NetsplitCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Both_ends_of_an_idle_link_ping_and_report_the_round_trip()
    {
        var room = await PopulatedRoomAsync("keepalive");
        await Task.Delay(NetsplitCluster.FastKeepalive.KeepaliveInterval * 3);

        var link = await Cluster.InspectLinkAsync(room, Killrc);
        var replica = await Cluster.InspectReplicaAsync(room, Killrc);
        Assert.Equal(LinkState.Linked, link.State);
        Assert.NotNull(link.LastRtt);
        Assert.NotNull(link.AverageRtt);
        Assert.True(link.BatchesSent > 0);
        Assert.Equal(LinkState.Linked, replica.State);
        Assert.NotNull(replica.LastRtt);
    }

    [Fact]
    public async Task Replica_users_get_every_message_of_a_split_once_after_the_netjoin()
    {
        var room = await PopulatedRoomAsync("broadcast");
        await Cluster.Links.CutAsync(Avalon, Killrc);
        var sent = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var body = $"during split {i}";
            Cluster.SendFromUser(Say(i % 2 == 0 ? Trillian : BigCheese, room, body, id: $"split-{i}"));
            sent.Add(body);
        }
        await Cluster.WaitForLinkStateAsync(room, Killrc, LinkState.Split);
        var withheld = (await Cluster.InspectLinkAsync(room, Killrc)).BatchesWithheld;

        await Cluster.Links.HealAsync(Avalon, Killrc);
        await Cluster.WaitForLinkStateAsync(room, Killrc, LinkState.Linked);
        await SettleAsync(room, "after broadcast netjoin");

        foreach (var user in Everyone)
            foreach (var body in sent)
                Assert.Single(Cluster.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
        // Killrc's users missed them live: they came in the resync, marked as delayed by the room.
        Assert.All(sent, body => Assert.NotNull(Cluster.ReceivedBy(Wumpus).Single(s => s.IsGroupchatWithBody(body)).Element(Ns.Delay + "delay")));
        Assert.True(withheld >= 0);
        await AssertSameRosterEverywhereAsync(room);
    }

    [Fact]
    public async Task A_leave_during_a_split_is_served_at_once_locally_and_seen_everywhere_after_the_netjoin()
    {
        var room = await PopulatedRoomAsync("leave");
        await Cluster.Links.CutAsync(Avalon, Killrc);
        await Cluster.WaitForReplicaStateAsync(room, Killrc, LinkState.Split);

        Cluster.SendFromUser(Leave(Valdis, room));
        var own = await Cluster.WaitForAsync(Valdis, Received.PresenceOf(room, Valdis.Nick, available: false), TimeSpan.FromSeconds(2));
        Assert.True(own.HasStatus(110));
        await Cluster.WaitForAsync(Wumpus, Received.PresenceOf(room, Valdis.Nick, available: false), TimeSpan.FromSeconds(2));

        await Cluster.Links.HealAsync(Avalon, Killrc);
        await Cluster.WaitForLinkStateAsync(room, Killrc, LinkState.Linked);
        await SettleAsync(room, "after leave netjoin", Everyone.Where(user => user != Valdis));

        foreach (var user in Everyone)
            Assert.Single(Cluster.ReceivedBy(user), Received.PresenceOf(room, Valdis.Nick, available: false).Invoke);
        Assert.Equal(Everyone.Length - 1, (await Cluster.InspectRoomAsync(room)).Occupants);
        await AssertSameRosterEverywhereAsync(room);
    }

    [Fact]
    public async Task A_message_sent_on_a_split_replica_is_answered_with_an_error()
    {
        var room = await PopulatedRoomAsync("error");
        await Cluster.Links.CutAsync(Avalon, Killrc);
        await Cluster.WaitForReplicaStateAsync(room, Killrc, LinkState.Split);

        Cluster.SendFromUser(Say(Wumpus, room, "anyone there?", id: "lonely"));
        var error = await Cluster.WaitForAsync(Wumpus, stanza => stanza.Attribute("id")?.Value == "lonely", TimeSpan.FromSeconds(2));

        Assert.Equal("error", error.Attribute("type")?.Value);
        Assert.Equal(room, error.Attribute("from")?.Value);
        Assert.NotNull(error.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "remote-server-timeout"));
        Assert.Equal(ReplicaRoomState.SplitErrorText, error.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "text")?.Value);
        await Cluster.Links.HealAsync(Avalon, Killrc);
        await Cluster.WaitForLinkStateAsync(room, Killrc, LinkState.Linked);
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian), stanza => stanza.IsGroupchatWithBody("anyone there?"));
    }

    [Fact]
    public async Task A_flapping_link_converges_with_every_message_once()
    {
        var room = await PopulatedRoomAsync("flapping");
        var random = new Random(282);
        var sent = new List<string>();
        for (var flap = 0; flap < 5; flap++)
        {
            await Cluster.Links.CutAsync(Avalon, Killrc, bothWays: random.Next(2) == 0);
            for (var i = 0; i < 3; i++)
            {
                var body = $"flap {flap}.{i}";
                Cluster.SendFromUser(Say(Trillian, room, body, id: $"flap-{flap}-{i}"));
                sent.Add(body);
                await Task.Delay(random.Next(50, 300));
            }
            await Cluster.Links.HealAsync(Avalon, Killrc);
            await Task.Delay(random.Next(50, 400));
        }
        await Cluster.WaitForLinkStateAsync(room, Killrc, LinkState.Linked, TimeSpan.FromSeconds(20));
        await SettleAsync(room, "after flapping");

        foreach (var user in Everyone)
            foreach (var body in sent)
                Assert.Single(Cluster.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
        await AssertSameRosterEverywhereAsync(room);
    }

    /// <summary>A room with Trillian (avalon, owner), Wumpus and Valdis (killrc) and BigCheese (vesa), all settled.</summary>
    private async Task<string> PopulatedRoomAsync(string name)
    {
        var room = $"{name}@{Service}";
        foreach (var user in Everyone)
        {
            Cluster.SendFromUser(Enter(user, room));
            await Cluster.WaitForAsync(user, Received.OwnPresence(room, user.Nick));
            if (user == Trillian)
            {
                Cluster.SendFromUser(AcceptDefaultConfiguration(user, room));
                await Cluster.WaitForAsync(user, Received.IqReply("create"));
            }
        }
        await SettleAsync(room, "populated");
        return room;
    }

    /// <summary>A message from the primary's own user that every remaining occupant must receive: nothing sent earlier is still on its way.</summary>
    private async Task SettleAsync(string room, string body, IEnumerable<ChatUser>? occupants = null)
    {
        body = $"{body} ({room})";
        Cluster.SendFromUser(Say(Trillian, room, body, id: "settle"));
        await Task.WhenAll((occupants ?? Everyone).Select(user => Cluster.WaitForAsync(user, Received.GroupchatBody(body))));
    }

    /// <summary>Every occupant's view of the roster, built from the presence it received, is the room's.</summary>
    private async Task AssertSameRosterEverywhereAsync(string room)
    {
        var occupants = Everyone.Where(user => Cluster.ReceivedBy(user).Any(Received.OwnPresence(room, user.Nick).Invoke)
                                               && !Cluster.ReceivedBy(user).Any(s => Received.PresenceOf(room, user.Nick, available: false)(s) && s.HasStatus(110)))
            .ToList();
        var expected = occupants.Select(user => user.Nick).Order().ToList();
        foreach (var user in occupants)
            Assert.Equal(expected, RosterSeenBy(user, room));
        Assert.Equal(occupants.Count, (await Cluster.InspectRoomAsync(room)).Occupants);
    }

    private List<string> RosterSeenBy(ChatUser user, string room)
    {
        var roster = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var presence in Cluster.ReceivedBy(user).Where(s => s.Name == Ns.Client + "presence"))
        {
            if (!Jid.TryParse(presence.Attribute("from")?.Value, out var from) || from.Bare.ToString() != room || from.Resource is not { } nick)
                continue;
            if (presence.Attribute("type")?.Value == "unavailable") roster.Remove(nick);
            else if (presence.Attribute("type") is null) roster.Add(nick);
        }
        return roster.ToList();
    }
}
