using System.Xml.Linq;
using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// The replica's node crashes and restarts while its XMPP server keeps the host's users connected (the chaos test's
/// ReplicaNodeCrash, docs/protocol/netjoin.md §5): the new replica kept nothing, the netjoin's resync re-announces the
/// host's occupants, and the replica pings each from the room to relearn who is still there. The link's answer timeout
/// is longer than the restart here (a test node takes over 8 s to rejoin), as in production (15 s + 10 s), so that the room does not let the host's occupants
/// go first (<see cref="ReplicaLink.ReplicaHostGone"/>, which <see cref="RestartTests"/> runs into with its 0.8 s).
/// </summary>
[Collection("netsplit")]
public sealed class ReplicaRelearnTests() : AvalonKillrcClusterTests(DmucTestNode.CrashOnStop.WithFallback(ConfigurationFactory.ParseString(
    $"{ReplicationSettings.ConfigPath}.ping-timeout = 30s")))
{
    private static readonly TimeSpan RestartWait = TimeSpan.FromSeconds(40);

    /// <summary>
    /// Wumpus's session is still there and answers the room's ping: he stays in the room, gets what was said during the
    /// crash and everything after, and nothing he had before it again (the replica's receipt told the room how far he
    /// was). Valdis's server answers that his session is gone: the room removes him, and Trillian sees him leave with 333.
    /// </summary>
    [Fact]
    public async Task A_user_still_connected_stays_across_the_restart_of_his_replica_node_and_one_whose_session_is_gone_is_removed()
    {
        var room = await PopulatedAndReceiptedAsync("replica-relearn");

        var restart = Cluster.RestartAsync(Killrc);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "during the crash", id: "during"));
        await restart;
        var checks = await SessionChecksAsync(room);
        // Nothing of the room reaches a relearnt user before the ping proves the session is there.
        Assert.DoesNotContain(Cluster.ReceivedBy(Wumpus.Jid), stanza => stanza.Name == Ns.Client + "message");
        AnswerWumpusStaysValdisGone(room, checks);
        await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("during the crash"), RestartWait);
        await Eventually.HoldsAsync(async () => (await Cluster.InspectRoomAsync(room.Jid)).Occupants == 2,
            "the primary to remove Valdis", RestartWait);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);

        Cluster.SendFromUser(Say(Wumpus, room.Jid, "after the restart", id: "after"));
        await room.SettleAsync([Trillian, Wumpus]);

        Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("after the restart").Invoke);
        Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("during the crash").Invoke);
        // What the restarted node delivered: he had this one from its earlier life.
        Assert.DoesNotContain(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("before the crash").Invoke);
        Assert.Single(Cluster.ReceivedBy(Trillian.Jid), Received.GroupchatBody("after the restart").Invoke);
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian.Jid), stanza => Received.PresenceOf(room.Jid, Wumpus.Nick, available: false)(stanza));
        var valdisLeft = Assert.Single(Cluster.ReceivedBy(Trillian.Jid), Received.PresenceOf(room.Jid, Valdis.Nick, available: false).Invoke);
        Assert.True(valdisLeft.HasStatus(333), valdisLeft.ToString());
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Trillian));
        Assert.DoesNotContain(Cluster.ReceivedBy(Valdis.Jid), stanza => stanza.Name == Ns.Client + "message");
    }

    /// <summary>
    /// The replica's node and the primary's are killed together and started again (the chaos run's argl/valdis.6, docs/protocol/netjoin.md
    /// §5): the recovered room's new link numbers from 1, and killrc's new replica knows nobody. Trillian speaks; the link's first batch
    /// says the room has killrc's users from before it, so the replica netjoins and checks the sessions it relearns. Wumpus answers and
    /// stays; Valdis, gone while both nodes were down, is removed, and Trillian sees him leave (333) within the protocol's bound. Before,
    /// the new replica took batch 1 as in step and checked nobody: Valdis stayed in the room.
    /// </summary>
    [Fact]
    public async Task After_the_primary_s_and_the_replica_s_nodes_both_restarted_the_replica_relearns_its_users_and_one_gone_meanwhile_is_removed()
    {
        var room = await PopulatedAndReceiptedAsync("both-restart");

        await Cluster.RestartTogetherAsync(Avalon, Killrc);
        var restarted = System.Diagnostics.Stopwatch.StartNew();
        Cluster.SendFromUser(Say(Trillian, room.Jid, "after both restarts", id: "after-both"));
        AnswerWumpusStaysValdisGone(room, await SessionChecksAsync(room));
        var valdisLeft = await Cluster.WaitForAsync(Trillian.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), RestartWait);
        var bound = ReplicationSettings.Default.KeepaliveInterval + ReplicationSettings.Default.PingTimeout;
        Assert.True(restarted.Elapsed < bound, $"Trillian saw Valdis leave {restarted.Elapsed} after the restart, beyond the bound of {bound}");
        Assert.True(valdisLeft.HasStatus(333), valdisLeft.ToString());
        await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("after both restarts"), RestartWait);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);

        Cluster.SendFromUser(Say(Wumpus, room.Jid, "still here", id: "still-here"));
        await room.SettleAsync([Trillian, Wumpus]);

        Assert.Equal(2, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
        Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("after both restarts").Invoke);
        Assert.Single(Cluster.ReceivedBy(Trillian.Jid), Received.GroupchatBody("still here").Invoke);
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian.Jid), stanza => Received.PresenceOf(room.Jid, Wumpus.Nick, available: false)(stanza));
        // Trillian's node records afresh since its restart: only Wumpus's roster, which the resync gave him again, is whole.
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
    }

    /// <summary>
    /// The same in a room where nobody says anything after the restarts: the recovered room asks killrc for a netjoin once it has
    /// named killrc's node, so the replica relearns its users and the room hears that Valdis is gone. (Before, the room reached
    /// killrc only at its first word, and Valdis stayed until then.)
    /// </summary>
    [Fact]
    public async Task In_a_quiet_room_after_the_primary_s_and_the_replica_s_nodes_both_restarted_one_gone_meanwhile_is_removed()
    {
        var room = await PopulatedAndReceiptedAsync("quiet-both-restart");

        await Cluster.RestartTogetherAsync(Avalon, Killrc);
        var restarted = System.Diagnostics.Stopwatch.StartNew();
        AnswerWumpusStaysValdisGone(room, await SessionChecksAsync(room));
        var valdisLeft = await Cluster.WaitForAsync(Trillian.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), RestartWait);
        var bound = ReplicationSettings.Default.KeepaliveInterval + ReplicationSettings.Default.PingTimeout;
        Assert.True(restarted.Elapsed < bound, $"Trillian saw Valdis leave {restarted.Elapsed} after the restart, beyond the bound of {bound}");
        Assert.True(valdisLeft.HasStatus(333), valdisLeft.ToString());
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);
        Assert.Equal(2, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
    }

    /// <summary>Trillian creates the room, Wumpus and Valdis enter, and her message reaches them, receipted by killrc's node.</summary>
    private async Task<ClusterRoom> PopulatedAndReceiptedAsync(string name)
    {
        var room = new ClusterRoom(Cluster, $"{name}@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, Valdis]);
        await room.SettleAsync([Trillian, Wumpus, Valdis]);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "before the crash", id: "before"));
        await room.SettleAsync([Trillian, Wumpus, Valdis]);
        await Eventually.HoldsAsync(async () =>
        {
            var inspection = await Cluster.InspectRoomAsync(room.Jid);
            return inspection.Receipts?.Any(receipt => receipt.ReplicaHost == Killrc && receipt.LastStanzaId == inspection.History[^1].StanzaId) == true;
        }, "killrc's receipt of the last message", RestartWait);
        return room;
    }

    /// <summary>The room's pings to Wumpus's and Valdis's sessions, from the replica that relearnt them.</summary>
    private async Task<(XElement Wumpus, XElement Valdis)> SessionChecksAsync(ClusterRoom room) =>
        (await Cluster.WaitForAsync(Wumpus.Jid, IsRoomPing(room.Jid), RestartWait), await Cluster.WaitForAsync(Valdis.Jid, IsRoomPing(room.Jid), RestartWait));

    /// <summary>Wumpus's session answers the room's ping; Valdis's server answers that his session is gone.</summary>
    private void AnswerWumpusStaysValdisGone(ClusterRoom room, (XElement Wumpus, XElement Valdis) checks)
    {
        Cluster.SendFromUser(XElement.Parse(
            $"<iq xmlns='jabber:client' from='{Wumpus.Jid}' to='{room.Jid}' type='result' id='{checks.Wumpus.Attribute("id")!.Value}'/>"));
        Cluster.SendFromUser(XElement.Parse(
            $"<iq xmlns='jabber:client' from='{Valdis.Jid}' to='{room.Jid}' type='error' id='{checks.Valdis.Attribute("id")!.Value}'>" +
            "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));
    }

    private static Func<XElement, bool> IsRoomPing(string room) => stanza =>
        stanza.Name == Ns.Client + "iq" && stanza.Attribute("from")?.Value == room && stanza.Element(Ns.Ping + "ping") is not null;
}
