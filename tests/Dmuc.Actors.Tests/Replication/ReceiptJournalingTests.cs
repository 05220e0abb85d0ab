using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// What a room journals of its hosts' receipts (<see cref="ReceiptJournaling"/>, <see cref="PrimaryRoom.Delivered"/>,
/// docs/protocol/netjoin.md §5): a busy room not one write per receipt, a restarted room the last one journaled. Its own
/// host's receipt is checked against the sink one message at a time, and a room rebuilt from its journal resends that
/// host's sessions what came after the last one journaled (<see cref="PrimaryRoom.OwnHostHandedOver"/>).
/// </summary>
public sealed class ReceiptJournalingTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset Start = new(1990, 10, 13, 23, 0, 0, TimeSpan.Zero);
    private static readonly Jid RoomJid = Jid.Parse(Room);
    private static readonly string[] Bodies = ["one", "two", "three", "four"];
    private readonly PrimaryRoom _room = NewRoom(new RoomState(RoomJid, DmucTestCluster.ServiceOptions));
    private readonly RoomSnapshot _empty;
    // What the room wrote, as a journal would hold it.
    private readonly List<RoomEvent> _journal = [];

    public ReceiptJournalingTests()
    {
        _empty = _room.State.ToSnapshot();
        Decide(Enter(Trillian, Room));
        Decide(AcceptDefaultConfiguration(Trillian, Room));
        foreach (var user in new[] { BlondeBoy, Wumpus, Valdis, BigCheese }) Decide(Enter(user, Room));
    }

    [Fact]
    public void A_host_s_first_receipt_is_journaled_and_those_within_the_interval_wait_for_it_the_newest_then_journaled_once()
    {
        var first = _room.Delivered(Receipt(Killrc, "m1", Wumpus, Valdis), Start);
        var second = _room.Delivered(Receipt(Killrc, "m2", Wumpus, Valdis), Start.AddMilliseconds(20));
        var third = _room.Delivered(Receipt(Killrc, "m3", Wumpus, Valdis), Start.AddMilliseconds(40));

        Assert.Equal([true, false, false], new[] { first, second, third }.Select(delivered => delivered.IsDurable));
        Assert.Equal("m3", _room.State.ReceiptOf(Killrc)?.LastStanzaId);
        Assert.Equal(Start + Interval, _room.ReceiptDueAt(Killrc));

        var due = _room.JournalReceipt(Killrc, Start + Interval);

        Assert.NotNull(due);
        Assert.True(due.IsDurable);
        Assert.Equal("m3", due.LastStanzaId);
        Assert.Equal([Jid.Parse(Wumpus.Jid), Jid.Parse(Valdis.Jid)], due.Sessions);
        Assert.Null(_room.ReceiptDueAt(Killrc));
        Assert.Null(_room.JournalReceipt(Killrc, Start + Interval + Interval));
        // The next one after a quiet interval goes at once again.
        Assert.True(_room.Delivered(Receipt(Killrc, "m4", Wumpus, Valdis), Start + 3 * Interval).IsDurable);
    }

    [Fact]
    public void Each_host_has_its_own_interval_and_a_split_link_s_waiting_receipt_is_journaled_at_once()
    {
        _room.Delivered(Receipt(Killrc, "m1", Wumpus), Start);
        var vesaFirst = _room.Delivered(Receipt(Vesa, "m1", BigCheese), Start.AddMilliseconds(10));
        _room.Delivered(Receipt(Killrc, "m2", Wumpus), Start.AddMilliseconds(20));

        Assert.True(vesaFirst.IsDurable);
        Assert.Null(_room.ReceiptDueAt(Vesa));
        // As RoomActor on the link's ReplicaSplit: before the interval is over.
        var onSplit = _room.JournalReceipt(Killrc, Start.AddMilliseconds(30));
        Assert.Equal("m2", onSplit?.LastStanzaId);
        Assert.Null(_room.JournalReceipt(Vesa, Start.AddMilliseconds(30)));
    }

    [Fact]
    public void Waiting_receipts_ride_along_with_the_room_s_next_write_once_a_tenth_of_the_interval_is_over_and_are_then_not_due_on_their_own()
    {
        _room.Delivered(Receipt(Killrc, "m1", Wumpus), Start);
        _room.Delivered(Receipt(Killrc, "m2", Wumpus), Start.AddMilliseconds(20));
        _room.Delivered(Receipt(Vesa, "m1", BigCheese), Start.AddMilliseconds(60));
        _room.Delivered(Receipt(Vesa, "m2", BigCheese), Start.AddMilliseconds(80));

        Assert.Empty(_room.ReceiptsRidingAlong(Start.AddMilliseconds(90)));
        var riding = _room.ReceiptsRidingAlong(Start + Interval / 10);

        Assert.Equal([(Killrc, "m2")], riding.Select(receipt => (receipt.Relay, receipt.LastStanzaId)));
        Assert.True(riding[0].IsDurable);
        Assert.Null(_room.ReceiptDueAt(Killrc));
        Assert.Null(_room.JournalReceipt(Killrc, Start + Interval));
        Assert.Equal([(Vesa, "m2")], _room.ReceiptsRidingAlong(Start.AddMilliseconds(160)).Select(receipt => (receipt.Relay, receipt.LastStanzaId)));
        Assert.Empty(_room.ReceiptsRidingAlong(Start + Interval));
    }

    [Fact]
    public void A_room_rebuilt_from_its_journal_has_the_last_receipt_journaled_without_the_sessions_that_left_since()
    {
        var snapshot = _room.State.ToSnapshot();
        var events = new List<RoomEvent> { _room.Delivered(Receipt(Killrc, "m1", Wumpus, Valdis), Start) };
        events.Add(_room.Delivered(Receipt(Killrc, "m2", Wumpus, Valdis), Start.AddMilliseconds(20)));
        events.AddRange(Decide(Leave(Valdis, Room)).Decision.Events);
        var restarted = RoomState.FromSnapshot(Jid.Parse(Room), DmucTestCluster.ServiceOptions, snapshot);
        foreach (var @event in events.Where(e => e.IsDurable)) restarted.Apply(@event);

        var receipt = restarted.ReceiptOf(Killrc);
        Assert.Equal("m1", receipt?.LastStanzaId);
        Assert.Equal([Jid.Parse(Wumpus.Jid)], receipt?.Sessions);
        // A snapshot has the newest, journaled or not.
        Assert.Equal("m2", RoomState.FromSnapshot(Jid.Parse(Room), DmucTestCluster.ServiceOptions, _room.State.ToSnapshot()).ReceiptOf(Killrc)?.LastStanzaId);
    }

    [Fact]
    public void A_receipt_naming_a_session_not_in_the_room_covers_only_those_that_are()
    {
        var delivered = _room.Delivered(Receipt(Killrc, "m1", Wumpus, Phaedrus), Start);

        Assert.Equal([Jid.Parse(Wumpus.Jid)], _room.State.ReceiptOf(Killrc)?.Sessions);
        // The event as journaled says what the receipt said; applying it keeps only who is in the room then, live and on replay.
        Assert.Equal(2, delivered.Sessions.Count);
    }

    [Fact]
    public void A_kept_message_to_the_own_host_is_checked_one_at_a_time_and_the_newest_handed_over_meanwhile_is_checked_next()
    {
        var first = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "one", "m1")));
        var second = _room.OwnHostHandedOver(Decide(Say(Wumpus, Room, "two", "m2")));
        var third = Decide(Say(BlondeBoy, Room, "three", "m3"));

        Assert.NotNull(first);
        Assert.Equal((Avalon, StanzaIdOf(1)), (first.ReplicaHost, first.LastStanzaId));
        // The host's sessions only: Wumpus is reached through killrc's replica, which sends its own receipts.
        Assert.Equal([BlondeBoy.Jid, Trillian.Jid], first.Sessions.Select(session => session.ToString()).Order());
        Assert.Null(second);
        Assert.Null(_room.OwnHostHandedOver(third));

        var (delivered, next) = _room.OwnHostChecked(first, written: true, Start);
        Assert.True(delivered?.IsDurable);
        Assert.Equal(StanzaIdOf(1), _room.State.ReceiptOf(Avalon)?.LastStanzaId);
        Assert.Equal(StanzaIdOf(3), next?.LastStanzaId);

        // The next within the interval waits for it, as a replica host's does (ReceiptJournaling).
        var (waiting, none) = _room.OwnHostChecked(next!, written: true, Start.AddMilliseconds(5));
        Assert.False(waiting?.IsDurable);
        Assert.Null(none);
        Assert.Equal(Start + Interval, _room.ReceiptDueAt(Avalon));
        // With nothing under way, the next message is checked at once; a decision without a kept message is not.
        Assert.Null(_room.OwnHostHandedOver(Decide(UpdatePresence(Trillian, Room, "away"))));
        Assert.NotNull(_room.OwnHostHandedOver(Decide(Say(Trillian, Room, "four", "m4"))));
    }

    [Fact]
    public void The_own_host_s_receipt_lists_the_host_s_sessions_in_the_room_when_its_message_was_handed_over()
    {
        var first = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "one", "m1")))!;
        Keep(_room.OwnHostChecked(first, written: true, Start).Delivered);
        Decide(Leave(BlondeBoy, Room));
        var second = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "two", "m2")))!;
        Keep(_room.OwnHostChecked(second, written: true, Start.AddMilliseconds(5)).Delivered);
        Decide(Enter(Cerebus, Room));
        var third = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "three", "m3")))!;

        Assert.Equal([BlondeBoy.Jid, Trillian.Jid], first.Sessions.Select(session => session.ToString()).Order());
        Assert.Equal([Trillian.Jid], second.Sessions.Select(session => session.ToString()));
        Assert.Equal([Cerebus.Jid, Trillian.Jid], third.Sessions.Select(session => session.ToString()).Order());
    }

    [Fact]
    public void A_receipt_the_stream_could_not_confirm_is_not_kept_and_the_next_message_is_checked_afresh()
    {
        var receipt = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "one", "m1")))!;

        var (delivered, next) = _room.OwnHostChecked(receipt, written: false, Start);

        Assert.Null(delivered);
        Assert.Null(next);
        Assert.Null(_room.State.ReceiptOf(Avalon));
        Assert.NotNull(_room.OwnHostHandedOver(Decide(Say(Trillian, Room, "two", "m2"))));
    }

    [Fact]
    public void A_room_rebuilt_from_its_journal_resends_its_own_host_s_sessions_every_message_after_the_last_receipt_journaled_delayed_with_its_stanza_id()
    {
        var receipt = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, "one", "m1")))!;
        Keep(_room.OwnHostChecked(receipt, written: true, Start).Delivered);
        var second = _room.OwnHostHandedOver(Decide(Say(Wumpus, Room, "two", "m2")))!;
        // Taken by the stream, but within the interval: not journaled when the node dies.
        Keep(_room.OwnHostChecked(second, written: true, Start.AddMilliseconds(5)).Delivered);
        // Journaled, never handed over: the node died in between.
        Decide(Say(BlondeBoy, Room, "three", "m3"));

        var resent = Rebuilt().ResendToOwnHost(serverSays: null);

        Assert.Equal([(2, BlondeBoy.Jid), (2, Trillian.Jid), (3, BlondeBoy.Jid), (3, Trillian.Jid)],
            resent.Select(delivery => (NumberOf(delivery.Stanza), delivery.To.ToString())).OrderBy(copy => copy.Item1).ThenBy(copy => copy.Item2, StringComparer.Ordinal));
        // In the room's order.
        Assert.Equal([2, 2, 3, 3], resent.Select(delivery => NumberOf(delivery.Stanza)));
        Assert.All(resent, delivery =>
        {
            Assert.NotNull(delivery.Stanza.Element(Ns.Delay + "delay"));
            Assert.Equal(StanzaIdOf(NumberOf(delivery.Stanza)), ReplicaRoomState.StanzaIdOf(delivery.Stanza, RoomJid));
        });
    }

    [Fact]
    public void An_entrant_s_history_counts_as_handed_over_so_a_host_that_had_nobody_in_is_not_resent_what_came_before_its_entry()
    {
        foreach (var user in new[] { Trillian, BlondeBoy }) Decide(Leave(user, Room));
        // Nobody of the host is in: nothing goes to its server, nothing to check.
        Assert.Null(_room.OwnHostHandedOver(Decide(Say(Wumpus, Room, "one", "m1"))));
        Assert.Null(_room.OwnHostHandedOver(Decide(Say(Wumpus, Room, "two", "m2"))));

        var entry = _room.OwnHostHandedOver(Decide(Enter(Cerebus, Room)));
        Assert.Equal(StanzaIdOf(2), entry?.LastStanzaId);
        Assert.Equal([Jid.Parse(Cerebus.Jid)], entry?.Sessions);
        Keep(_room.OwnHostChecked(entry!, written: true, Start).Delivered);

        Assert.Empty(Rebuilt().ResendToOwnHost(serverSays: null));
    }

    [Fact]
    public void With_its_server_s_word_a_rebuilt_room_resends_each_session_only_what_came_after_the_last_message_handed_to_it()
    {
        // Handed over after the receipt journaled: the server took two and three for BlondeBoy, two for Trillian, then the node died.
        OneReceiptedThen((Wumpus, "two"), (BlondeBoy, "three"), (Wumpus, "four"));

        var resent = Rebuilt().ResendToOwnHost(ServerSays((Trillian, 2), (BlondeBoy, 3)));

        Assert.Equal([(3, Trillian.Jid), (4, BlondeBoy.Jid), (4, Trillian.Jid)],
            resent.Select(delivery => (NumberOf(delivery.Stanza), delivery.To.ToString())).OrderBy(copy => copy.Item1).ThenBy(copy => copy.Item2, StringComparer.Ordinal));
        Assert.Equal([3, 4, 4], resent.Select(delivery => NumberOf(delivery.Stanza)));
        Assert.All(resent, delivery => Assert.NotNull(delivery.Stanza.Element(Ns.Delay + "delay")));
        // Everything the server handed them: nothing.
        Assert.Empty(Rebuilt().ResendToOwnHost(ServerSays((Trillian, 4), (BlondeBoy, 4))));
    }

    [Fact]
    public void A_session_its_server_does_not_name_or_names_with_a_message_the_room_does_not_know_gets_what_came_after_the_receipt()
    {
        OneReceiptedThen((Wumpus, "two"), (BlondeBoy, "three"));
        var room = Rebuilt();

        var withoutBlondeBoy = room.ResendToOwnHost(ServerSays((Trillian, 3)));
        var unknownToTheRoom = room.ResendToOwnHost(new LastDelivered(new Dictionary<Jid, string>
        {
            [Jid.Parse(Trillian.Jid)] = "not-a-stanza-id-of-this-room", [Jid.Parse(BlondeBoy.Jid)] = StanzaIdOf(3),
        }));

        Assert.Equal([(2, BlondeBoy.Jid), (3, BlondeBoy.Jid)], withoutBlondeBoy.Select(delivery => (NumberOf(delivery.Stanza), delivery.To.ToString())));
        Assert.Equal([(2, Trillian.Jid), (3, Trillian.Jid)], unknownToTheRoom.Select(delivery => (NumberOf(delivery.Stanza), delivery.To.ToString())));
    }

    [Fact]
    public void A_room_without_a_receipt_of_its_own_host_resends_nothing()
    {
        Decide(Say(Trillian, Room, "one", "m1"));

        Assert.False(Rebuilt().OwnHostMayHaveMissed);
        Assert.Empty(Rebuilt().ResendToOwnHost(serverSays: null));
    }

    private static DeliveryReceipt Receipt(string host, string lastStanzaId, params ChatUser[] sessions) =>
        new(Jid.Parse(Room), host, lastStanzaId, [.. sessions.Select(user => Jid.Parse(user.Jid))]);

    /// <summary>Trillian says "one" and the own host's receipt of it is journaled; then each of <paramref name="said"/> is said.</summary>
    private void OneReceiptedThen(params (ChatUser Sender, string Body)[] said)
    {
        var receipt = _room.OwnHostHandedOver(Decide(Say(Trillian, Room, Bodies[0], "m1")))!;
        Keep(_room.OwnHostChecked(receipt, written: true, Start).Delivered);
        foreach (var (sender, body) in said) Decide(Say(sender, Room, body, $"m{Array.IndexOf(Bodies, body) + 1}"));
    }

    [Fact]
    public void A_recovered_room_reaches_the_hosts_whose_replicas_sent_it_receipts_through_their_links_whether_named_yet_or_not()
    {
        Keep(_room.Delivered(Receipt(Killrc, "m1", Wumpus, Valdis), Start));
        Keep(_room.Delivered(Receipt(Avalon, "m1", Trillian), Start));

        var recovered = Rebuilt();

        Assert.True(recovered.WasServedByReplica(Killrc));
        // Its own host's receipt is no replica's, and a host that never sent one may have no Dmuc node (its users are reached over s2s).
        Assert.False(recovered.WasServedByReplica(Avalon));
        Assert.False(recovered.WasServedByReplica(Vesa));
    }

    /// <summary>
    /// A recovered room's new links number from 1, and a replica whose node restarted too knows none of the users it recovered: the
    /// room has users of killrc and vesa from before (docs/protocol/netjoin.md §5). Eris's first entrant comes through its link in this
    /// life, so eris's replica has nobody to relearn; nor has vesa's once the recovered BigCheese left and Efchen entered afresh. A room
    /// that never recovered has nobody from before.
    /// </summary>
    [Fact]
    public void A_recovered_room_has_users_from_before_of_each_host_it_recovered_them_of_but_not_of_hosts_whose_users_entered_since()
    {
        var recovered = Rebuilt();
        recovered.Recovered();

        Assert.True(recovered.HasUsersFromBefore(Killrc));
        Assert.True(recovered.HasUsersFromBefore(Vesa));
        recovered.Decide(new HandleStanza(Enter(WiZ, Room), Start));
        Assert.False(recovered.HasUsersFromBefore(Eris));
        recovered.Decide(new HandleStanza(Leave(BigCheese, Room), Start));
        recovered.Decide(new HandleStanza(Enter(Efchen, Room), Start));
        Assert.False(recovered.HasUsersFromBefore(Vesa));
        Assert.False(_room.HasUsersFromBefore(Killrc));
    }

    private LastDelivered ServerSays(params (ChatUser User, int Got)[] sessions) =>
        new(sessions.ToDictionary(session => Jid.Parse(session.User.Jid), session => StanzaIdOf(session.Got)));

    private PrimaryRoom Rebuilt()
    {
        var state = RoomState.FromSnapshot(RoomJid, DmucTestCluster.ServiceOptions, _empty);
        foreach (var @event in _journal) state.Apply(@event);
        return NewRoom(state);
    }

    private Decided Decide(System.Xml.Linq.XElement stanza)
    {
        var decided = _room.Decide(new HandleStanza(stanza, Start));
        foreach (var @event in decided.Decision.Events) Keep(@event);
        return decided;
    }

    private void Keep(RoomEvent? @event)
    {
        if (@event is { IsDurable: true }) _journal.Add(@event);
    }

    /// <summary>The stanza-id the room gave its <paramref name="number"/>th kept message.</summary>
    private string StanzaIdOf(int number) => _journal.OfType<HistoryMessageAdded>().ElementAt(number - 1).Entry.StanzaId;

    private static int NumberOf(System.Xml.Linq.XElement message) =>
        Array.IndexOf(Bodies, message.Element(Ns.Client + "body")?.Value) + 1;

    private static PrimaryRoom NewRoom(RoomState state) => new(state, host => host != Avalon, () => true, Interval, Avalon);
}
