using static Dmuc.Rooms.Tests.DecisionAssertions;

namespace Dmuc.Rooms.Tests;

/// <summary>What the server hands the room again after the node's stream ended unacknowledged (<see cref="Resends"/>).</summary>
public sealed class ResendTests
{
    private const string Juliet = "juliet@localhost/balcony";
    private const string JulietsPhone = "juliet@localhost/phone";

    [Fact]
    public void A_message_whose_first_copy_is_in_the_history_is_dropped_and_one_that_never_arrived_is_taken()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Join(JulietsPhone, "Juliet");
        room.Say(Juliet, "Romeo?", id: "j1");

        var again = room.Run(Resent($"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat' id='j1'><body>Romeo?</body></message>"));
        Assert.Empty(again.Events);
        Assert.Empty(again.Deliveries);
        // The same bare JID's other resource with the same id: the server resends what it had of the user, one message.
        Assert.Empty(room.Run(Resent($"<message from='{JulietsPhone}' to='{TestRoom.Room}' type='groupchat' id='j1'><body>Romeo?</body></message>")).Deliveries);

        var neverArrived = room.Run(Resent($"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat' id='j2'><body>Romeo?</body></message>"));
        Assert.IsType<HistoryMessageAdded>(Assert.Single(neverArrived.Events));
        Assert.Single(neverArrived.To(TestRoom.Owner));
        // Without the resend mark the same id is a new message: clients may reuse ids.
        Assert.IsType<HistoryMessageAdded>(Assert.Single(room.Say(Juliet, "Romeo?", id: "j1").Events));
    }

    [Fact]
    public void An_entry_of_a_session_in_the_room_and_a_leave_of_one_gone_are_dropped_and_others_are_taken()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");

        // A second join response would replay the history and the roster to Juliet.
        Assert.Empty(room.Run(Resent($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).Deliveries);

        var entry = room.Run(Resent($"<presence from='{JulietsPhone}' to='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>"));
        Assert.NotEmpty(entry.To(JulietsPhone));

        var leave = room.Run(Resent($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet' type='unavailable'/>"));
        Assert.NotEmpty(leave.To(Juliet));
        Assert.Empty(room.Run(Resent($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet' type='unavailable'/>")).Deliveries);
    }

    private static HandleStanza Resent(string xml) => new(TestRoom.Stanza(xml), DateTimeOffset.UtcNow, Resent: true);
}
