using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// What a room journals of its replicas' receipts (<see cref="ReceiptJournaling"/>, <see cref="PrimaryRoom.Delivered"/>,
/// docs/protocol/netjoin.md §5): a busy room not one write per receipt, a restarted room the last one journaled.
/// </summary>
public sealed class ReceiptJournalingTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset Start = new(1990, 10, 13, 23, 0, 0, TimeSpan.Zero);
    private readonly PrimaryRoom _room = new(new RoomState(Jid.Parse(Room), DmucTestCluster.ServiceOptions), host => host != Avalon, () => true, Interval);

    public ReceiptJournalingTests()
    {
        Decide(Enter(Trillian, Room));
        Decide(AcceptDefaultConfiguration(Trillian, Room));
        foreach (var user in new[] { Wumpus, Valdis, BigCheese }) Decide(Enter(user, Room));
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

    private Decided Decide(System.Xml.Linq.XElement stanza) => _room.Decide(new HandleStanza(stanza, Start));

    private static DeliveryReceipt Receipt(string host, string lastStanzaId, params ChatUser[] sessions) =>
        new(Jid.Parse(Room), host, lastStanzaId, [.. sessions.Select(user => Jid.Parse(user.Jid))]);
}
