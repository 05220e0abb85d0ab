using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A replica's node is killed and started again while its users stay connected to their server (docs/protocol/netjoin.md
/// §5): the new incarnation reports nothing, relearns the users, and resumes them from the replica's last receipt
/// (<see cref="DeliveryReceipt"/>), on <see cref="SplitRoomModel"/>. At least once: what was written and not yet
/// receipted is sent again; nothing is sent less.
/// </summary>
public sealed class ReplicaCrashResyncTests
{
    private readonly SplitRoomModel _room = new(Wallops.Room, Avalon, Killrc, Vesa);

    [Fact]
    public void A_new_incarnation_of_a_replica_node_sends_its_users_only_what_came_after_its_last_receipt()
    {
        CrashKillrcAfterTwoMessages();
        _room.Send(Say(BigCheese, Wallops.Room, "during", id: "during"));

        var resync = RejoinKillrc();

        Assert.Equal(["during"], Delivered(resync));
        // The receipt's own message only tells the new replica where it stands (it reports it at its next netjoin).
        Assert.Equal("before 2", Assert.Single(resync.Items, item => item.Recipients is { Count: 0 }).Stanza.Body());
        foreach (var user in new[] { Wumpus, Valdis })
        {
            foreach (var body in new[] { "before 1", "before 2", "during" })
                Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
            Assert.Single(_room.ReceivedBy(user), Received.Subject(Wallops.Room).Invoke);
        }
        Assert.Equal(_room.Primary.History.Last().StanzaId, _room.Replica(Killrc).LastStanzaId);
        AssertEveryoneHearsTheNextMessageOnce();
    }

    [Fact]
    public void Without_a_receipt_the_new_incarnation_sends_the_whole_history_again_rather_than_lose_any()
    {
        _room.Populate([Trillian, Wumpus, BigCheese]);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        CrashKillrcAfter(Say(Trillian, Wallops.Room, "written, not receipted", id: "unreceipted"));

        Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody("before"));
        Assert.Equal(2, _room.ReceivedBy(Wumpus).Count(stanza => stanza.IsGroupchatWithBody("written, not receipted")));
    }

    [Fact]
    public void A_user_whose_entry_was_not_receipted_gets_the_room_s_history_and_subject_as_an_entrant_and_the_others_do_not()
    {
        _room.Populate([Trillian, Wumpus, BigCheese]);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        CrashKillrcAfter(Enter(Valdis, Wallops.Room));

        Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody("before"));
        Assert.Single(_room.ReceivedBy(Wumpus), Received.Subject(Wallops.Room).Invoke);
        // Valdis's entry may have reached him before the crash: he gets it again rather than miss it.
        Assert.Equal(2, _room.ReceivedBy(Valdis).Count(stanza => stanza.IsGroupchatWithBody("before")));
        Assert.Equal(2, _room.ReceivedBy(Valdis).Count(Received.Subject(Wallops.Room).Invoke));
    }

    [Fact]
    public void A_receipt_no_longer_covers_a_session_that_left_so_it_enters_again_as_a_new_entrant()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        CrashKillrcAfter(Leave(Valdis, Wallops.Room), Enter(Valdis, Wallops.Room));

        Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody("before"));
        // Once when he first entered, once when he entered again, and once from the resync: his second entry was not receipted.
        Assert.Equal(3, _room.ReceivedBy(Valdis).Count(stanza => stanza.IsGroupchatWithBody("before")));
    }

    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void Users_the_room_let_go_while_their_host_had_no_node_are_told_by_the_new_incarnation_s_netjoin(PrimaryRestart primaryRestarts)
    {
        _room.Populate([Trillian, Wumpus, BigCheese]);
        _room.CrashReplica(Killrc);
        _room.HostGone(Killrc);
        RestartPrimaryIf(primaryRestarts);

        _room.Netjoin(Killrc);

        var removed = Assert.Single(_room.ReceivedBy(Wumpus), Received.PresenceOf(Wallops.Room, Wumpus.Nick, available: false).Invoke);
        Assert.True(removed.HasStatus(110) && removed.HasStatus(333), removed.ToString());
        Assert.Single(_room.ReceivedBy(Trillian), Received.PresenceOf(Wallops.Room, Wumpus.Nick, available: false).Invoke);
        Assert.Empty(_room.Replica(Killrc).LocalOccupants);
    }

    /// <summary>The telling is journaled too: a primary restarted after it does not tell them again at killrc's next netjoin.</summary>
    [Fact]
    public void Users_the_room_let_go_are_told_once_though_the_primary_restarts_after_telling_them()
    {
        _room.Populate([Trillian, Wumpus, BigCheese]);
        _room.CrashReplica(Killrc);
        _room.HostGone(Killrc);
        _room.Netjoin(Killrc);

        RestartPrimaryIf(PrimaryRestart.FromJournal);
        _room.Netjoin(Killrc);

        Assert.Single(_room.ReceivedBy(Wumpus), Received.PresenceOf(Wallops.Room, Wumpus.Nick, available: false).Invoke);
    }

    /// <summary>
    /// BigCheese leaves while killrc's node is down: its next life knows nothing of what its users saw, so it reports no roster,
    /// and its users would see him in the room for good.
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void Users_of_a_restarted_replica_node_see_who_left_the_room_while_their_node_was_down(PrimaryRestart primaryRestarts)
    {
        CrashKillrcAfterTwoMessages();
        _room.Send(Leave(BigCheese, Wallops.Room));
        RestartPrimaryIf(primaryRestarts);

        RejoinKillrc();

        foreach (var user in new[] { Wumpus, Valdis })
            Assert.Single(_room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, BigCheese.Nick, available: false).Invoke);
        Assert.DoesNotContain(_room.ReceivedBy(Wumpus), Received.PresenceOf(Wallops.Room, Trillian.Nick, available: false).Invoke);
    }

    /// <summary>
    /// killrc's node is down when the primary's crashes, so it cannot send its receipt again after the primary's restart: the
    /// room resumes its users from the receipt it journaled. (Kept only in memory, it was gone, and they got everything again.)
    /// </summary>
    [Fact]
    public void A_primary_restarted_while_a_replica_node_was_down_resumes_that_node_s_users_from_the_receipt_it_journaled()
    {
        CrashKillrcAfterTwoMessages();
        _room.Send(Say(BigCheese, Wallops.Room, "before the primary's crash", id: "before-crash"));
        _room.CrashPrimary();
        _room.Netjoin(Vesa);
        _room.Send(Say(Trillian, Wallops.Room, "after the primary's restart", id: "after-restart"));

        var resync = RejoinKillrc();

        Assert.Equal(["before the primary's crash", "after the primary's restart"], Delivered(resync));
        foreach (var user in new[] { Wumpus, Valdis })
            foreach (var body in new[] { "before 1", "before 2", "before the primary's crash", "after the primary's restart" })
                Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
        Assert.Single(_room.ReceivedBy(BigCheese), stanza => stanza.IsGroupchatWithBody("before 1"));
        AssertEveryoneHearsTheNextMessageOnce();
    }

    /// <summary>
    /// killrc's node forwards a message, the room processes it, and the batch with its acknowledgement is lost in a cut nobody noticed;
    /// the node dies, and its server hands the message to the next life, whose forward is lost in the cut too. The next netjoin's
    /// report carries it, marked resent (stream-ack.md §8), and the room drops it as processed: before, it took it as new (another
    /// life's numbers) and everyone had it twice.
    /// </summary>
    [Fact]
    public void A_message_the_room_processed_through_the_node_s_previous_life_and_reported_again_in_a_netjoin_is_processed_once()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.LoseOnTheWay(Killrc, forwardsToo: false);
        _room.Send(Say(Wumpus, Wallops.Room, "into the cut", id: "into-the-cut"));
        _room.CrashReplica(Killrc);
        RejoinKillrc();
        _room.LoseOnTheWay(Killrc, forwardsToo: true);

        _room.HandKeptAgain(Killrc);
        Assert.True(Assert.Single(_room.Report(Killrc).Unacknowledged!.Stanzas).Resent);
        RejoinKillrc();

        AssertInTheRoomAndWithEveryoneOnce("into the cut");
        AssertEveryoneHearsTheNextMessageOnce();
    }

    /// <summary>
    /// killrc is split; Wumpus's message is served to killrc's users there and held for the room; the node dies before the netjoin. Its
    /// server hands the message to the next life marked served (stream-ack.md §8), which holds it for the room without serving it again:
    /// one echo, and one copy to everyone. Before, the next life served it a second time (or, knowing nobody, refused it after the echo).
    /// </summary>
    [Fact]
    public void A_message_served_during_a_split_by_a_node_that_then_died_reaches_everyone_once_and_its_sender_has_one_outcome()
    {
        PopulateAndSayOnKillrcDuringASplit("served, then the node died");
        Assert.Single(_room.ReceivedBy(Valdis), stanza => stanza.IsGroupchatWithBody("served, then the node died"));
        _room.CrashReplica(Killrc);

        _room.HandKeptAgain(Killrc);
        RejoinKillrc();

        AssertInTheRoomAndWithEveryoneOnce("served, then the node died");
        Assert.DoesNotContain(_room.ReceivedBy(Wumpus), stanza => stanza.Attribute("type")?.Value == "error");
        AssertEveryoneHearsTheNextMessageOnce();
    }

    /// <summary>
    /// killrc's split replica echoes Wumpus's message, its node dies, and the room lets killrc's users go before the node's next life
    /// brings the message (its server kept it, marked served). Wumpus said it in the room: the room takes it as his, at its time, and
    /// everyone else gets it once. (Before, the room refused it as from a non-occupant: Wumpus had his echo and then an error, and
    /// nobody beyond killrc ever had it.)
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void A_message_a_split_replica_served_reaches_everyone_once_though_the_room_let_its_sender_go_before_the_node_s_next_life(PrimaryRestart primaryRestarts)
    {
        PopulateAndSayOnKillrcDuringASplit("served, then the host let go");
        var servedAt = _room.Now;
        _room.CrashReplica(Killrc);
        _room.HostGone(Killrc);
        RestartPrimaryIf(primaryRestarts);

        _room.HandKeptAgain(Killrc);
        RejoinKillrc();

        var kept = Assert.Single(_room.Primary.History, entry => XElement.Parse(entry.Stanza).Body() == "served, then the host let go");
        Assert.Equal((Wumpus.Nick, servedAt), (kept.Nick, kept.Timestamp));
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody("served, then the host let go"));
        Assert.DoesNotContain(_room.ReceivedBy(Wumpus), stanza => stanza.Attribute("type")?.Value == "error");
    }

    /// <summary>
    /// The room took Wumpus's held message at a netjoin whose resync killrc never got, so the node still held it when it died, and the
    /// room then let killrc's users go: the next life brings it again, and the room, which has it, drops it (stream-ack.md §5).
    /// </summary>
    [Fact]
    public void A_message_the_room_took_before_letting_its_sender_go_is_not_taken_again_when_the_next_life_brings_it()
    {
        PopulateAndSayOnKillrcDuringASplit("taken, then the host let go");
        _room.Netjoin(Killrc, resyncLost: true);
        _room.CrashReplica(Killrc);
        _room.HostGone(Killrc);

        _room.HandKeptAgain(Killrc);
        RejoinKillrc();

        AssertInTheRoomAndWithEveryoneOnce("taken, then the host let go");
    }

    /// <summary>
    /// The room took Wumpus's held message at a netjoin whose resync killrc never got, and the node died: its users, who saw the
    /// message when the split replica served it, are relearnt by the next life and resumed from the receipt of before the split, so
    /// the room's copy comes again in that resync. The next life holds it again, marked served, so the copy reaches nobody. (Before,
    /// Wumpus and Valdis had it twice: the room's record of what the host saw was the last life's, and the server's record of what
    /// it handed counts stanza-ids, which the replica's own echo has none of; the 30-minute chaos run's 26 duplicates.)
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    public void A_message_a_split_replica_served_is_not_given_again_to_the_users_its_node_s_next_life_relearns(PrimaryRestart primaryRestarts)
    {
        PopulateAndSayOnKillrcDuringASplit("served, reported, then the node died");
        _room.Netjoin(Killrc, resyncLost: true);
        _room.CrashReplica(Killrc);
        RestartPrimaryIf(primaryRestarts);

        _room.HandKeptAgain(Killrc);
        RejoinKillrc();

        AssertInTheRoomAndWithEveryoneOnce("served, reported, then the node died");
        AssertEveryoneHearsTheNextMessageOnce();
    }

    /// <summary>
    /// The same, but the room let Wumpus go on his server's word: killrc's next life relearnt him at its first netjoin, and his server
    /// answered its check for him with an error (his client had gone); the message the last life served comes only after that.
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void A_message_a_split_replica_served_reaches_everyone_once_though_its_sender_s_session_was_found_gone_before_it_came_again(PrimaryRestart primaryRestarts)
    {
        PopulateAndSayOnKillrcDuringASplit("served, then the session went");
        _room.CrashReplica(Killrc);
        _room.Netjoin(Killrc);
        _room.AnswerSessionChecks(Killrc, gone: Wumpus);
        Assert.DoesNotContain(_room.Primary.Sessions, session => session.Nick == Wumpus.Nick);
        RestartPrimaryIf(primaryRestarts);

        _room.HandKeptAgain(Killrc);
        _room.Netjoin(Killrc);

        Assert.Single(_room.Primary.History, entry => XElement.Parse(entry.Stanza).Body() == "served, then the session went");
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody("served, then the session went"));
    }

    /// <summary>
    /// The chaos run's case (seed 2027): killrc's node runs on, split, while the room finds no node for killrc and lets its users
    /// go; killrc's replica, not told yet, goes on serving Wumpus in the room. At the netjoin the room takes what it served as his,
    /// then tells him he was removed. (Before, each such message got Wumpus his echo and then not-acceptable, and only killrc had it.)
    /// Also when the primary's node restarts before that netjoin (run 3 of the same seed): the let-go is journaled.
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.None)]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void Messages_a_split_replica_served_before_it_was_told_the_room_let_its_users_go_reach_everyone_once(PrimaryRestart primaryRestarts)
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Cut(Killrc);
        _room.HostGone(Killrc);
        _room.Send(Say(Wumpus, Wallops.Room, "served while let go", id: "while-let-go"));
        RestartPrimaryIf(primaryRestarts);

        _room.Netjoin(Killrc);

        AssertInTheRoomAndWithEveryoneOnce("served while let go");
        Assert.DoesNotContain(_room.ReceivedBy(Wumpus), stanza => stanza.Attribute("type")?.Value == "error");
        Assert.Contains(_room.ReceivedBy(Wumpus), stanza => Received.PresenceOf(Wallops.Room, Wumpus.Nick, available: false)(stanza) && stanza.HasStatus(333));
    }

    /// <summary>
    /// The 30-minute chaos run's case (seed 2026, argl-2545…): Wumpus's message is forwarded as the primary's node dies, so it is
    /// never acknowledged; killrc's replica serves it to its users as it finds the split; the room's next life finds no node for
    /// killrc and lets its users go; then killrc's netjoin reports the forward. Before, the room refused it (not-acceptable), after
    /// Wumpus's echo, and only killrc had it.
    /// </summary>
    [Fact]
    public void A_forward_a_split_replica_served_as_it_found_the_split_reaches_everyone_once_though_the_room_let_its_sender_go()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.LoseOnTheWay(Killrc, forwardsToo: true);
        _room.Send(Say(Wumpus, Wallops.Room, "forwarded into the crash", id: "into-the-crash"));
        _room.Cut(Killrc);
        _room.HostGone(Killrc);

        _room.Netjoin(Killrc);

        AssertInTheRoomAndWithEveryoneOnce("forwarded into the crash");
        Assert.DoesNotContain(_room.ReceivedBy(Wumpus), stanza => stanza.Attribute("type")?.Value == "error");
    }

    /// <summary>Trillian kicks Wumpus while killrc is split, and killrc's replica, not knowing, serves him: he was no longer in the room.</summary>
    [Fact]
    public void A_message_a_split_replica_served_after_the_room_kicked_its_sender_is_refused_as_from_a_non_occupant()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Cut(Killrc);
        _room.Send(SetRole(Trillian, Wallops.Room, Wumpus.Nick, "none"));
        _room.Send(Say(Wumpus, Wallops.Room, "served after the kick", id: "after-kick"));

        _room.Netjoin(Killrc);

        Assert.DoesNotContain(_room.Primary.History, entry => XElement.Parse(entry.Stanza).Body() == "served after the kick");
        Assert.DoesNotContain(_room.ReceivedBy(Trillian), stanza => stanza.IsGroupchatWithBody("served after the kick"));
        Assert.Contains(_room.ReceivedBy(Wumpus), stanza => stanza.IsError("not-acceptable"));
    }

    /// <summary>
    /// Held stanzas are numbered for the life of a replica: the next life's first held stanza is number 1 again. The room's count of
    /// what it processed of the host's held stanzas belongs to the life that held them, or the next life's would be skipped as
    /// processed (lost for everyone but killrc's users, who saw it served).
    /// </summary>
    [Fact]
    public void What_the_next_life_of_a_replica_node_holds_through_a_split_reaches_the_room_though_the_last_life_held_as_many()
    {
        PopulateAndSayOnKillrcDuringASplit("held by the first life");
        RejoinKillrc();
        _room.CrashReplica(Killrc);
        RejoinKillrc();

        _room.Cut(Killrc);
        _room.Send(Say(Wumpus, Wallops.Room, "held by the next life", id: "next-life"));
        RejoinKillrc();

        AssertInTheRoomAndWithEveryoneOnce("held by the first life");
        AssertInTheRoomAndWithEveryoneOnce("held by the next life");
    }

    /// <summary>
    /// The primary's node dies while Wumpus speaks: one message it processed (journaled) but whose batch never reached killrc, one
    /// lost on the way; then killrc finds the split and Wumpus goes on. killrc's users see the two unacknowledged ones as the split is
    /// found, before what follows, and the room takes them in that order at the netjoin: every host sees the same order, once
    /// (before, killrc's users saw them after what followed, from the resync).
    /// </summary>
    [Fact]
    public void After_the_primary_s_crash_the_split_host_s_users_see_their_messages_in_the_order_every_other_host_sees_them_once()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Send(Say(Wumpus, Wallops.Room, "1", id: "m1"));
        _room.LoseOnTheWay(Killrc, forwardsToo: false);
        _room.Send(Say(Wumpus, Wallops.Room, "2", id: "m2"));
        _room.LoseOnTheWay(Killrc, forwardsToo: true);
        _room.Send(Say(Wumpus, Wallops.Room, "3", id: "m3"));
        _room.CrashPrimary();
        _room.Send(Say(Wumpus, Wallops.Room, "4", id: "m4"));
        _room.Netjoin(Vesa);

        _room.Netjoin(Killrc);

        Assert.Equal(["1", "2", "3", "4"], _room.Primary.History.Select(entry => XElement.Parse(entry.Stanza).Body()));
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Equal(["1", "2", "3", "4"], _room.ReceivedBy(user).Where(stanza => stanza.Attribute("type")?.Value == "groupchat").Select(stanza => stanza.Body()).OfType<string>());
    }

    /// <summary>
    /// killrc's node restarts and then the primary's, with neither end seeing the other gone (the chaos run's argl/valdis.6: killrc's actor
    /// system restarted in its process, the primary's node 8 s later). The recovered room's new link numbers from 1, and killrc's new
    /// replica, knowing nobody, took its batch 1 as in step: it never relearnt Wumpus and Valdis, so nothing checked their sessions, and
    /// Valdis, gone meanwhile, stayed in everyone's roster until some later netjoin. That batch says the room has killrc's users from
    /// before its link: the replica netjoins first, relearns them and checks their sessions, and the room removes Valdis (333).
    /// </summary>
    [Theory]
    [InlineData(PrimaryRestart.FromJournal)]
    [InlineData(PrimaryRestart.FromSnapshot)]
    public void After_the_primary_s_and_a_replica_s_nodes_both_restarted_the_replica_relearns_its_users_and_one_gone_meanwhile_is_removed(
        PrimaryRestart primaryRestarts)
    {
        CrashKillrcAfterTwoMessages();
        RestartPrimaryIf(primaryRestarts);
        _room.Relinked(Killrc);

        _room.Send(Say(Trillian, Wallops.Room, "after both restarts", id: "after-both"));
        _room.AnswerSessionChecks(Killrc, gone: Valdis);

        Assert.Equal([Jid.Parse(Wumpus.Jid)], _room.Replica(Killrc).LocalOccupants.Keys);
        foreach (var user in new[] { Trillian, BigCheese, Wumpus })
        {
            var left = Assert.Single(_room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke);
            Assert.True(left.HasStatus(333), left.ToString());
        }
        Assert.DoesNotContain(Valdis.Nick, _room.Primary.OccupantNicks);
        Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody("after both restarts"));
        _room.Send(Say(Wumpus, Wallops.Room, "still here", id: "still-here"));
        foreach (var user in new[] { Trillian, Wumpus, BigCheese })
            Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody("still here"));
    }

    /// <summary>
    /// killrc's node restarts quicker than the link notices, and Wumpus speaks before the primary's next word reaches the new node: his
    /// message starts the new replica, and the primary's batch that answers it (numbered on from the last life's) was taken as in step by
    /// a replica that knew nobody. Wumpus got no echo, and Valdis, gone meanwhile, stayed in the room. A replica never in step netjoins on
    /// that batch instead (ReplicaSync.MustRelearn), as one the primary's word starts does.
    /// </summary>
    [Fact]
    public void A_new_replica_started_by_its_user_s_stanza_relearns_the_host_s_users_on_the_primary_s_next_batch()
    {
        CrashKillrcAfterTwoMessages();
        _room.Relinked(Killrc);

        _room.Send(Say(Wumpus, Wallops.Room, "first word of the next life", id: "first-word"));
        _room.AnswerSessionChecks(Killrc, gone: Valdis);

        Assert.Equal([Jid.Parse(Wumpus.Jid)], _room.Replica(Killrc).LocalOccupants.Keys);
        Assert.Single(_room.ReceivedBy(Wumpus), stanza => stanza.IsGroupchatWithBody("first word of the next life"));
        foreach (var user in new[] { Trillian, BigCheese })
            Assert.Single(_room.ReceivedBy(user), Received.PresenceOf(Wallops.Room, Valdis.Nick, available: false).Invoke);
    }

    /// <summary>
    /// The chaos run's alice/bob.2, never seen to leave by squit.1: the witness's node restarted, then the primary's, and a user of another
    /// host (here the primary's own) was found gone by the room meanwhile (its server answered the room's check with an error: 333).
    /// Whether the departure came before the primary's restart or after it, whether the witness's next life had already relearnt its
    /// users before the primary's restart, and whether its first word after both restarts is a netjoin across the split or the new link's
    /// first batch: the witness's next life sees the leave once.
    /// </summary>
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    public void A_witness_whose_node_restarted_while_the_primary_restarted_too_sees_who_the_room_found_gone_meanwhile(
        bool goneAfterThePrimaryRestarted, bool witnessRelearntBeforeThePrimaryRestarted, bool relinkedUnnoticed)
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese, BlondeBoy]);
        _room.Send(Say(Trillian, Wallops.Room, "before", id: "before"));
        _room.CrashReplica(Killrc);
        if (witnessRelearntBeforeThePrimaryRestarted) RejoinKillrc();
        if (!goneAfterThePrimaryRestarted) _room.Send(SessionGoneAnswer(BlondeBoy));
        _room.CrashPrimary();
        _room.Netjoin(Vesa);
        if (goneAfterThePrimaryRestarted) _room.Send(SessionGoneAnswer(BlondeBoy));

        if (relinkedUnnoticed)
        {
            _room.Relinked(Killrc);
            _room.Send(Say(Trillian, Wallops.Room, "after", id: "after"));
            _room.AnswerSessionChecks(Killrc);
        }
        else RejoinKillrc();

        foreach (var witness in new[] { Wumpus, Valdis })
        {
            var left = Assert.Single(_room.ReceivedBy(witness), Received.PresenceOf(Wallops.Room, BlondeBoy.Nick, available: false).Invoke);
            Assert.DoesNotContain(_room.ReceivedBy(witness).SkipWhile(stanza => stanza != left), Received.PresenceOf(Wallops.Room, BlondeBoy.Nick).Invoke);
        }
        Assert.DoesNotContain(BlondeBoy.Nick, _room.Primary.OccupantNicks);
    }

    /// <summary>The answer of <paramref name="user"/>'s server to the room's check of a session it no longer has.</summary>
    private static XElement SessionGoneAnswer(ChatUser user) => XElement.Parse(
        $"<iq xmlns='jabber:client' from='{user.Jid}' to='{Wallops.Room}' type='error' id='dmuc-probe-1'>" +
        "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");

    /// <summary>Four users in the room, one on each of its hosts but two on killrc; two messages said and receipted; killrc's node dies.</summary>
    private void CrashKillrcAfterTwoMessages()
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Send(Say(Trillian, Wallops.Room, "before 1", id: "before-1"));
        _room.Send(Say(Wumpus, Wallops.Room, "before 2", id: "before-2"));
        _room.CrashReplica(Killrc);
    }

    /// <summary>
    /// killrc's node writes what <paramref name="unreceipted"/> brings its users and dies before its receipt goes out; its
    /// next incarnation rejoins.
    /// </summary>
    private void CrashKillrcAfter(params XElement[] unreceipted)
    {
        _room.ReceiptsLost = true;
        foreach (var stanza in unreceipted) _room.Send(stanza);
        _room.ReceiptsLost = false;
        _room.CrashReplica(Killrc);
        RejoinKillrc();
    }

    /// <summary>
    /// Unless <see cref="PrimaryRestart.None"/>, the primary's node is killed and started again now, between the room's letting
    /// someone go (or someone's leaving) and the netjoin that tells killrc, and vesa rejoins it: the room has only its journal,
    /// or a snapshot of it.
    /// </summary>
    private void RestartPrimaryIf(PrimaryRestart restart)
    {
        if (restart == PrimaryRestart.None) return;
        _room.CrashPrimary(fromSnapshot: restart == PrimaryRestart.FromSnapshot);
        _room.Netjoin(Vesa);
    }

    public enum PrimaryRestart { None, FromJournal, FromSnapshot }

    /// <summary>The bodies of the messages a resync delivers to someone.</summary>
    private static IEnumerable<string> Delivered(ReplicaBatch resync) =>
        resync.Items.Where(item => item.Recipients is not { Count: 0 }).Select(item => item.Stanza.Body()).OfType<string>();

    /// <summary>killrc's new replica runs its netjoin, and its users answer the checks of the sessions it relearns.</summary>
    private ReplicaBatch RejoinKillrc()
    {
        var resync = _room.Netjoin(Killrc);
        _room.AnswerSessionChecks(Killrc);
        return resync;
    }

    /// <summary>The four users enter; killrc is cut off, and Wumpus says <paramref name="body"/> there.</summary>
    private void PopulateAndSayOnKillrcDuringASplit(string body)
    {
        _room.Populate([Trillian, Wumpus, Valdis, BigCheese]);
        _room.Cut(Killrc);
        _room.Send(Say(Wumpus, Wallops.Room, body, id: body.Replace(' ', '-')));
    }

    /// <summary>The room's history has the message once, and each of the four users got it once.</summary>
    private void AssertInTheRoomAndWithEveryoneOnce(string body)
    {
        Assert.Single(_room.Primary.History, entry => XElement.Parse(entry.Stanza).Body() == body);
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody(body));
    }

    /// <summary>The restarted replica is in step: its users and everyone else each get each new message once.</summary>
    private void AssertEveryoneHearsTheNextMessageOnce()
    {
        _room.Send(Say(Valdis, Wallops.Room, "after", id: "after"));
        foreach (var user in new[] { Trillian, Wumpus, Valdis, BigCheese })
            Assert.Single(_room.ReceivedBy(user), stanza => stanza.IsGroupchatWithBody("after"));
    }
}
