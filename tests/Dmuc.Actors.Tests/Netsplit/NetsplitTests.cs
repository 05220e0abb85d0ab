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
    public NetsplitCluster Netsplit { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Netsplit = await NetsplitCluster.StartAsync(new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc), new DmucNodeSpec(Vesa));

    public async Task DisposeAsync() => await Netsplit.DisposeAsync();
}

/// <summary>
/// XEP-0282 §4.10–4.11 and our netjoin (docs/protocol/netjoin.md) on a real three-node cluster whose links are cut
/// and healed with the remoting throttler. Each test has a room of its own and heals every link it cut.
/// </summary>
[Collection("netsplit")]
public sealed class NetsplitTests(NetsplitClusterFixture fixture) : IClassFixture<NetsplitClusterFixture>
{
    private static readonly ChatUser[] Everyone = [Trillian, Wumpus, Valdis, BigCheese];
    /// <summary>Served by the split replica itself: the answer needs no round trip to the primary.</summary>
    private static readonly TimeSpan LocalAnswer = TimeSpan.FromSeconds(2);

    private NetsplitCluster Netsplit => fixture.Netsplit;
    private DmucTestCluster Cluster => Netsplit.Cluster;

    [Fact]
    public async Task Both_ends_of_an_idle_link_ping_and_report_the_round_trip()
    {
        var room = await PopulatedRoomAsync("keepalive");
        // Each end pings once it has been idle for a keepalive interval; on a loaded machine that can take a few.
        await Eventually.HoldsAsync(async () => (await Cluster.InspectLinkAsync(room.Jid, Killrc)).LastRtt is not null
                                                && (await Cluster.InspectReplicaAsync(room.Jid, Killrc)).LastRtt is not null,
            "both ends of the idle link to have a round-trip time", TimeSpan.FromSeconds(15));

        var link = await Cluster.InspectLinkAsync(room.Jid, Killrc);
        var replica = await Cluster.InspectReplicaAsync(room.Jid, Killrc);
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
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        var sent = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var body = $"during split {i}";
            Cluster.SendFromUser(Say(i % 2 == 0 ? Trillian : BigCheese, room.Jid, body, id: $"split-{i}"));
            sent.Add(body);
        }
        await Netsplit.WaitForLinkStateAsync(room.Jid, Killrc, LinkState.Split);

        await HealKillrcAsync(room);
        await room.SettleAsync(Everyone);

        AssertEveryoneReceivedEachOnce(sent);
        // Killrc's users missed them live: they came in the resync, marked as delayed by the room.
        Assert.All(sent, body => Assert.NotNull(Cluster.ReceivedBy(Wumpus.Jid).Single(s => s.IsGroupchatWithBody(body)).Element(Ns.Delay + "delay")));
        await AssertSameRosterEverywhereAsync(room);
    }

    [Fact]
    public async Task A_leave_during_a_split_is_served_at_once_locally_and_seen_everywhere_after_the_netjoin()
    {
        var room = await RoomSplitFromKillrcAsync("leave");

        Cluster.SendFromUser(Leave(Valdis, room.Jid));
        var own = await Cluster.WaitForAsync(Valdis.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), LocalAnswer);
        Assert.True(own.HasStatus(110));
        await Cluster.WaitForAsync(Wumpus.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), LocalAnswer);

        await HealKillrcAsync(room);
        await room.SettleAsync(Everyone.Where(user => user != Valdis).ToList());

        foreach (var user in Everyone)
            Assert.Single(Cluster.ReceivedBy(user.Jid), Received.PresenceOf(room.Jid, Valdis.Nick, available: false).Invoke);
        Assert.Equal(Everyone.Length - 1, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
        await AssertSameRosterEverywhereAsync(room);
    }

    [Fact]
    public async Task A_message_the_split_replica_cannot_serve_is_answered_with_an_error()
    {
        var room = await RoomSplitFromKillrcAsync("error");

        Cluster.SendFromUser(PrivateMessage(Wumpus, room.Jid, Trillian.Nick, "anyone there?"));
        var error = await Cluster.WaitForAsync(Wumpus.Jid, stanza => stanza.Attribute("id")?.Value == "pm", LocalAnswer);

        Assert.Equal("error", error.Attribute("type")?.Value);
        Assert.Equal($"{room.Jid}/{Trillian.Nick}", error.Attribute("from")?.Value);
        Assert.NotNull(error.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "remote-server-timeout"));
        Assert.Equal(ReplicaRoomState.SplitErrorText, error.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "text")?.Value);
        await HealKillrcAsync(room);
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian.Jid), stanza => stanza.Body() == "anyone there?");
    }

    [Fact]
    public async Task Local_chat_during_a_split_is_served_at_once_and_reaches_the_other_hosts_once_delayed_after_the_netjoin()
    {
        var room = await RoomSplitFromKillrcAsync("localchat");

        Cluster.SendFromUser(Say(Wumpus, room.Jid, "local during split", id: "local-1"));
        Cluster.SendFromUser(PrivateMessage(Wumpus, room.Jid, Valdis.Nick, "psst"));
        await Cluster.WaitForAsync(Valdis.Jid, Received.GroupchatBody("local during split"), LocalAnswer);
        await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("local during split"), LocalAnswer);
        await Cluster.WaitForAsync(Valdis.Jid, stanza => stanza.Body() == "psst", LocalAnswer);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "meanwhile on avalon", id: "avalon-1"));
        await Cluster.WaitForAsync(BigCheese.Jid, Received.GroupchatBody("meanwhile on avalon"));

        await HealKillrcAsync(room);
        await room.SettleAsync(Everyone);

        AssertEveryoneReceivedEachOnce(["local during split", "meanwhile on avalon"]);
        foreach (var user in new[] { Trillian, BigCheese })
            Assert.NotNull(Cluster.ReceivedBy(user.Jid).Single(Received.GroupchatBody("local during split").Invoke).Element(Ns.Delay + "delay"));
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian.Jid), stanza => stanza.Body() == "psst");
        var history = (await Cluster.InspectRoomAsync(room.Jid)).History;
        Assert.Equal(["meanwhile on avalon", "local during split"], history.Select(entry => System.Xml.Linq.XElement.Parse(entry.Stanza).Body()));
        var replica = await Cluster.InspectReplicaAsync(room.Jid, Killrc);
        Assert.Equal(history.Count, replica.HistoryLength);
        Assert.Equal(history[^1].StanzaId, replica.LastStanzaId);
        await AssertSameRosterEverywhereAsync(room);
    }

    [Fact]
    public async Task Entries_during_a_split_are_admitted_at_the_netjoin_and_a_nick_taken_meanwhile_is_settled_for_the_first_holder()
    {
        var room = new ClusterRoom(Cluster, $"entries@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, BigCheese]);
        await room.SettleAsync([Trillian, Wumpus, BigCheese]);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForReplicaStateAsync(room.Jid, Killrc, LinkState.Split);
        var rival = Efchen with { Nick = "Newbie" };
        var entrant = Phaedrus with { Nick = "Newbie" };

        await room.EnterAsync(rival);
        Cluster.SendFromUser(Enter(entrant, room.Jid));
        Cluster.SendFromUser(Enter(Valdis, room.Jid));
        await Cluster.WaitForAsync(entrant.Jid, Received.OwnPresence(room.Jid, entrant.Nick), LocalAnswer);
        await Cluster.WaitForAsync(Valdis.Jid, Received.OwnPresence(room.Jid, Valdis.Nick), LocalAnswer);
        await HealKillrcAsync(room);
        var occupants = new[] { Trillian, Wumpus, Valdis, BigCheese, rival };
        await room.SettleAsync(occupants);

        await Cluster.WaitForAsync(entrant.Jid, stanza => stanza.Body() == NetjoinPlanner.NickTakenText);
        var removed = await Cluster.WaitForAsync(entrant.Jid, stanza => Received.PresenceOf(room.Jid, "Newbie", available: false)(stanza) && stanza.HasStatus(110));
        Assert.True(removed.HasStatus(333));
        var newbieSeenByWumpus = Cluster.ReceivedBy(Wumpus.Jid).Where(stanza => stanza.Attribute("from")?.Value == room.OccupantJid("Newbie")).ToList();
        Assert.Equal([null, "unavailable", null], newbieSeenByWumpus.Select(presence => presence.Attribute("type")?.Value));
        foreach (var user in new[] { Trillian, BigCheese, rival })
        {
            Assert.Single(Cluster.ReceivedBy(user.Jid), Received.PresenceOf(room.Jid, Valdis.Nick).Invoke);
            Assert.DoesNotContain(Cluster.ReceivedBy(user.Jid), Received.PresenceOf(room.Jid, "Newbie", available: false).Invoke);
        }
        var sessions = (await Cluster.InspectRoomAsync(room.Jid)).Sessions;
        Assert.Equal(Jid.Parse(rival.Jid), sessions.Single(session => session.Nick == "Newbie").RealJid);
        await AssertSameRosterEverywhereAsync(room, occupants);
    }

    [Fact]
    public async Task A_flapping_link_converges_with_every_message_once()
    {
        var room = await PopulatedRoomAsync("flapping");
        var random = new Random(282);
        var sent = new List<string>();
        for (var flap = 0; flap < 5; flap++)
        {
            await Netsplit.Links.CutAsync(Avalon, Killrc, bothWays: random.Next(2) == 0);
            for (var i = 0; i < 3; i++)
            {
                var body = $"flap {flap}.{i}";
                Cluster.SendFromUser(Say(Trillian, room.Jid, body, id: $"flap-{flap}-{i}"));
                sent.Add(body);
                await Task.Delay(random.Next(50, 300));
            }
            await Netsplit.Links.HealAsync(Avalon, Killrc);
            await Task.Delay(random.Next(50, 400));
        }
        // Settling says more in the room, which would show the replica a sequence jump: wait for the keepalive alone.
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, TimeSpan.FromSeconds(20));
        await room.SettleAsync(Everyone);

        AssertEveryoneReceivedEachOnce(sent);
        await AssertSameRosterEverywhereAsync(room);
    }

    /// <summary>
    /// The last message before the split is a no-store one (a barrier), which no history holds: the netjoin must
    /// still send only what came after the last kept message, not the whole history again.
    /// </summary>
    [Fact]
    public async Task A_netjoin_after_a_message_kept_out_of_the_history_repeats_nothing()
    {
        var room = await PopulatedRoomAsync("no-store");
        Cluster.SendFromUser(Say(Trillian, room.Jid, "kept before the split", id: "kept"));
        await room.SettleAsync(Everyone);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForLinkStateAsync(room.Jid, Killrc, LinkState.Split);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "during the split", id: "during"));

        await HealKillrcAsync(room);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc);
        await room.SettleAsync(Everyone);

        AssertEveryoneReceivedEachOnce(["kept before the split", "during the split"]);
    }

    /// <summary>
    /// A no-store message (XEP-0334) said elsewhere while killrc was split is in no history a netjoin could replay, and
    /// the hint forbids keeping it for later: killrc's users are told how many they missed, once (docs/protocol/netjoin.md §3).
    /// Their own no-store message of the split, which they saw, is not counted; vesa, linked, got it live and hears nothing.
    /// </summary>
    [Fact]
    public async Task No_store_messages_missed_in_a_split_are_announced_to_the_split_hosts_users_after_the_netjoin()
    {
        var room = await RoomSplitFromKillrcAsync("no-store-missed");
        Cluster.SendFromUser(SayUnstored(Trillian, room.Jid, "off the record", id: "unstored-1"));
        Cluster.SendFromUser(Say(Trillian, room.Jid, "on the record", id: "kept-1"));
        Cluster.SendFromUser(SayUnstored(Valdis, room.Jid, "between us on killrc", id: "unstored-2"));
        await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("between us on killrc"), LocalAnswer);

        await HealKillrcAsync(room);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc);
        await room.SettleAsync(Everyone);

        AssertEveryoneReceivedEachOnce(["on the record", "between us on killrc"]);
        foreach (var user in new[] { Wumpus, Valdis })
        {
            Assert.DoesNotContain(Cluster.ReceivedBy(user.Jid), stanza => stanza.Body() == "off the record");
            var notice = Assert.Single(Cluster.ReceivedBy(user.Jid), stanza => stanza.Body()?.Contains(UnstoredMessages.MissedText) == true);
            Assert.Equal($"1 {UnstoredMessages.MissedText}", notice.Body());
            Assert.Equal(room.Jid, notice.Attribute("from")?.Value);
        }
        Assert.Single(Cluster.ReceivedBy(BigCheese.Jid), stanza => stanza.Body() == "off the record");
        Assert.DoesNotContain(Cluster.ReceivedBy(BigCheese.Jid), stanza => stanza.Body()?.Contains(UnstoredMessages.MissedText) == true);
    }

    /// <summary>
    /// A cut far shorter than keepalive-interval + ping-timeout, healed at once: neither end notices a split and no
    /// batch follows the lost one, so only the primary's next ping or pong (carrying its last sent seq) can tell
    /// the replica what it missed.
    /// </summary>
    [Fact]
    public async Task A_batch_lost_in_a_cut_too_short_to_notice_reaches_the_replica_without_further_traffic()
    {
        var room = await PopulatedRoomAsync("short-cut");
        var sentBefore = (await Cluster.InspectLinkAsync(room.Jid, Killrc)).BatchesSent;

        await Netsplit.Links.CutAsync(Avalon, Killrc);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "into the cut", id: "short-cut"));
        await Eventually.HoldsAsync(async () => (await Cluster.InspectLinkAsync(room.Jid, Killrc)).BatchesSent > sentBefore,
            "the primary to send the batch into the cut", TimeSpan.FromSeconds(10));
        await Netsplit.Links.HealAsync(Avalon, Killrc);

        // Nothing else is said in the room: a few keepalive rounds must bring it.
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, TimeSpan.FromSeconds(10));
        var missed = await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("into the cut"), TimeSpan.FromSeconds(1));
        Assert.NotNull(missed.Element(Ns.Delay + "delay"));
        await room.SettleAsync(Everyone);
        AssertEveryoneReceivedEachOnce(["into the cut"]);
    }

    /// <summary>A room with Trillian (avalon, owner), Wumpus and Valdis (killrc) and BigCheese (vesa), all settled.</summary>
    private async Task<ClusterRoom> PopulatedRoomAsync(string name)
    {
        var room = new ClusterRoom(Cluster, $"{name}@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync(Everyone.Where(user => user != Trillian));
        await room.SettleAsync(Everyone);
        return room;
    }

    private void AssertEveryoneReceivedEachOnce(IEnumerable<string> bodies)
    {
        var wrong = from user in Everyone
                    from body in bodies
                    let copies = Cluster.ReceivedBy(user.Jid).Count(stanza => stanza.IsGroupchatWithBody(body))
                    where copies != 1
                    select $"{user.Nick} received '{body}' {copies} times";
        Assert.Empty(wrong);
    }

    /// <summary>A populated room whose killrc replica knows it is split from the primary.</summary>
    private async Task<ClusterRoom> RoomSplitFromKillrcAsync(string name)
    {
        var room = await PopulatedRoomAsync(name);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForReplicaStateAsync(room.Jid, Killrc, LinkState.Split);
        return room;
    }

    private async Task HealKillrcAsync(ClusterRoom room)
    {
        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Netsplit.WaitForLinkStateAsync(room.Jid, Killrc, LinkState.Linked);
    }

    /// <summary>Every occupant's view of the roster, built from the presence it received, is the room's.</summary>
    private async Task AssertSameRosterEverywhereAsync(ClusterRoom room, IEnumerable<ChatUser>? users = null)
    {
        var occupants = (users ?? Everyone).Where(room.SeesItselfIn).ToList();
        var expected = occupants.Select(user => user.Nick).Order(StringComparer.Ordinal).ToList();
        foreach (var user in occupants)
            Assert.Equal(expected, room.RosterSeenBy(user));
        Assert.Equal(occupants.Count, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
    }
}
