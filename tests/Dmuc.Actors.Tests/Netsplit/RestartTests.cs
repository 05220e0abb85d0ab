using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A node of a primary/replica pair crashes and restarts on the same port, host domain and journal
/// (docs/protocol/netjoin.md §5): the room recovers from the journal, the replica resyncs, and every user ends up
/// with one consistent roster and every message said after the restart.
/// </summary>
[Collection("netsplit")]
public sealed class RestartTests() : AvalonKillrcClusterTests(DmucTestNode.CrashOnStop)
{
    private static readonly TimeSpan RestartWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The primary's node crashes under traffic and comes back on the same journal: occupants are durable, so the room
    /// still has the replica's users, takes what they said meanwhile (held by the split replica) and what was sent into
    /// the crash (unacknowledged forwards), and nobody is removed or has to enter again.
    /// </summary>
    [Fact]
    public async Task A_restarted_primary_recovers_the_room_with_its_occupants_and_takes_what_the_replica_held()
    {
        var room = new ClusterRoom(Cluster, $"primary-restart@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAsync(Wumpus);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "before the crash", id: "before"));
        await room.SettleAsync([Trillian, Wumpus]);

        // The crashing node may still take the first message and deliver it to Trillian: she gets it once across both lives of her node.
        var beforeTheRestart = Cluster.Received(Avalon);
        var restart = Cluster.RestartAsync(Avalon);
        // Said while the primary is down: forwarded into the crash, or served locally once the replica sees the split.
        for (var i = 0; i < 5; i++)
        {
            Cluster.SendFromUser(Say(Wumpus, room.Jid, $"during the crash {i}", id: $"during-{i}"));
            await Task.Delay(300);
        }
        await restart;
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);

        Cluster.SendFromUser(Say(Trillian, room.Jid, "after the restart", id: "after"));
        await room.SettleAsync([Trillian, Wumpus]);

        // Nobody was removed, nobody entered again.
        Assert.DoesNotContain(Cluster.ReceivedBy(Wumpus.Jid), stanza => Received.PresenceOf(room.Jid, Wumpus.Nick, available: false)(stanza));
        Assert.DoesNotContain(Cluster.ReceivedBy(Trillian.Jid), stanza => Received.PresenceOf(room.Jid, Wumpus.Nick, available: false)(stanza));
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
        Assert.Equal(2, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
        // Trillian's node (whose sink records anew) asked her whether she is still there, and she was not asked to enter again.
        Assert.Single(Cluster.ReceivedBy(Trillian.Jid), stanza => stanza.Element(Ns.Ping + "ping") is not null);
        // Everything Wumpus said reached him exactly once and Trillian at least once, and none of it was refused. The crashed
        // node may have journaled a message and died before sending it to her, or sent it after its last journaled own-host
        // receipt: the restarted room resends her what came after that receipt (netjoin.md §5), so a second copy is that resend,
        // delayed and with the message's stanza-id.
        for (var i = 0; i < 5; i++)
        {
            Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody($"during the crash {i}").Invoke);
            var copies = beforeTheRestart.To(Trillian.Jid).Concat(Cluster.ReceivedBy(Trillian.Jid)).Where(Received.GroupchatBody($"during the crash {i}")).ToList();
            Assert.InRange(copies.Count, 1, 2);
            Assert.All(copies.Skip(1), resent => Assert.NotNull(resent.Element(Ns.Delay + "delay")));
            Assert.Single(copies.Select(copy => ReplicaRoomState.StanzaIdOf(copy, Jid.Parse(room.Jid))).Distinct());
        }
        Assert.DoesNotContain(Cluster.ReceivedBy(Wumpus.Jid), stanza => stanza.Attribute("type")?.Value == "error");
        Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("after the restart").Invoke);
        // The room's history has each message once, in the order Wumpus said them.
        var history = (await Cluster.InspectRoomAsync(room.Jid)).History.Select(entry => XElement.Parse(entry.Stanza).Element(Ns.Client + "body")?.Value);
        Assert.Equal(["before the crash", .. Enumerable.Range(0, 5).Select(i => $"during the crash {i}"), "after the restart"], history);
    }

    [Fact]
    public async Task A_restarted_replica_node_resyncs_the_primary_removes_who_did_not_come_back_and_who_enters_again_gets_roster_and_history()
    {
        var room = new ClusterRoom(Cluster, $"replica-restart@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, Valdis]);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "before the crash", id: "before"));
        await room.SettleAsync([Trillian, Wumpus, Valdis]);

        await Cluster.RestartAsync(Killrc);

        await Eventually.HoldsAsync(async () => (await Cluster.InspectRoomAsync(room.Jid)).Occupants == 1,
            "the primary to remove the occupants of the restarted node", RestartWait);
        foreach (var gone in new[] { Wumpus, Valdis })
            Assert.Single(Cluster.ReceivedBy(Trillian.Jid), Received.PresenceOf(room.Jid, gone.Nick, available: false).Invoke);
        Assert.Equal([Trillian.Nick], room.RosterSeenBy(Trillian));

        await room.EnterAsync(Wumpus);
        // The settling barriers are no-store: said while the link is still rejoining, they would be announced as
        // missed, not replayed (netjoin.md §3), and never reach Wumpus.
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "after the restart", id: "after"));
        await room.SettleAsync([Trillian, Wumpus]);

        // The restarted node's users start afresh: what they received is all since the restart.
        var history = Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("before the crash").Invoke);
        Assert.NotNull(history.Element(Ns.Delay + "delay"));
        Assert.Single(Cluster.ReceivedBy(Wumpus.Jid), Received.GroupchatBody("after the restart").Invoke);
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Trillian));
        Assert.DoesNotContain(Cluster.ReceivedBy(Valdis.Jid), stanza => stanza.Name == Ns.Client + "message");
    }
}
