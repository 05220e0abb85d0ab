using System.Xml.Linq;
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

    [Fact]
    public async Task A_restarted_primary_recovers_the_room_from_its_journal_and_its_replica_resyncs()
    {
        var room = new ClusterRoom(Cluster, $"primary-restart@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAsync(Wumpus);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "before the crash", id: "before"));
        await room.SettleAsync([Trillian, Wumpus]);

        await Cluster.RestartAsync(Avalon);

        // The room came back from its journal without occupants (presence is not journaled): the netjoin tells the
        // replica's user he was removed because of the connection problem (333), and his roster is empty again.
        var removed = await Cluster.WaitForAsync(Wumpus.Jid, stanza => Received.PresenceOf(room.Jid, Wumpus.Nick, available: false)(stanza)
                                                                        && stanza.HasStatus(333), RestartWait);
        Assert.True(removed.HasStatus(110));
        Assert.Empty(room.RosterSeenBy(Wumpus));
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, RestartWait);

        var removedAt = Cluster.ReceivedBy(Wumpus.Jid).IndexOf(removed);
        await EnterAgainAsync(Trillian, room);
        await EnterAgainAsync(Wumpus, room);
        Cluster.SendFromUser(Say(Trillian, room.Jid, "after the restart", id: "after"));
        await room.SettleAsync([Trillian, Wumpus]);

        var sinceRemoved = Cluster.ReceivedBy(Wumpus.Jid).Skip(removedAt + 1).ToList();
        // Entering again brings the history the room recovered, once, delayed; then what is said live.
        var history = Assert.Single(sinceRemoved, Received.GroupchatBody("before the crash").Invoke);
        Assert.NotNull(history.Element(Ns.Delay + "delay"));
        Assert.Single(sinceRemoved, Received.GroupchatBody("after the restart").Invoke);
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Trillian));
        Assert.Equal(2, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
    }

    /// <summary>Enters and waits for a new own presence: the one from before the restart must not count.</summary>
    private async Task EnterAgainAsync(ChatUser user, ClusterRoom room)
    {
        var before = Cluster.ReceivedBy(user.Jid).Count;
        Cluster.SendFromUser(Enter(user, room.Jid));
        await Eventually.HoldsAsync(() => Cluster.ReceivedBy(user.Jid).Skip(before).Any(Received.OwnPresence(room.Jid, user.Nick)),
            $"{user.Nick} to be in {room.Jid} again", RestartWait);
    }

    [Fact(Skip = "Open bug, flaky in full-assembly runs (1 of 3 CI runs, 2026-11-24): after the restart Wumpus's re-entry " +
                 "timed out; all the restarted node delivered to him was Valdis's unavailable presence without status codes, the " +
                 "form a resync sends for a nick the replica still shows, so a resync seems to have been planned from a roster " +
                 "that still had Valdis. Cause not found yet; see docs/protocol/netjoin.md §7.")]
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
