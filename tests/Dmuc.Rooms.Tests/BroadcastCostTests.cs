using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// What a busy room pays per message beyond the MUC work itself (issue 11, the node's own cost): budgets that a change
/// putting per-message or per-recipient overhead back would break.
/// </summary>
public sealed class BroadcastCostTests
{
    private const string Sender = "u1@localhost/r";

    [Fact]
    public void A_message_to_100_occupants_is_decided_within_its_allocation_budget()
    {
        var room = TestRoom.Created();
        for (var i = 0; i < 100; i++) room.Join($"u{i}@localhost/r", $"n{i}");
        var stanza = TestRoom.Stanza($"<message from='{Sender}' to='{TestRoom.Room}' type='groupchat' id='m'><body>message number 1 with a body of ordinary length</body></message>");
        room.Send(new System.Xml.Linq.XElement(stanza));
        var command = new HandleStanza(new System.Xml.Linq.XElement(stanza), room.Now);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var decision = room.State.Process(command);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(101, decision.Deliveries.Count);
        // 18.2 KB before (2026-12-06): 5.1 KB to keep the message as text, 1.3 KB growing the deliveries' list through every
        // power of two; 12.2 KB since, about 70 bytes per delivery.
        Assert.InRange(allocated, 0, 14 * 1024);
    }

    [Fact]
    public void The_own_hosts_receipt_keeps_the_rooms_list_of_its_sessions_and_drops_those_that_left()
    {
        var room = TestRoom.Created();
        for (var i = 0; i < 3; i++) room.Join($"u{i}@localhost/r", $"n{i}");
        var sessions = room.State.SessionJidsByDomain["localhost"];

        room.State.Apply(new RelayDelivered("localhost", "s1", sessions, Journaled: false));

        // The room's own list as it is now: kept as it is, without looking each session up (once per message of a busy room).
        Assert.Same(sessions, room.State.ReceiptOf("localhost")!.Sessions);

        room.Leave("u2@localhost/r", "n2");
        room.State.Apply(new RelayDelivered("localhost", "s2", sessions, Journaled: false));

        // A list from before a departure is not the room's any more: the session that left is not covered.
        Assert.Equal(sessions.Where(session => session != Jid.Parse("u2@localhost/r")), room.State.ReceiptOf("localhost")!.Sessions);
    }
}
