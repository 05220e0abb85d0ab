using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// The two orders a room keeps its occupants in (by nick for broadcasts, by entry for an entrant's roster) are carried from
/// one change of the occupants to the next instead of sorted again: after entries, second sessions, nick changes, kicks and
/// departures they are still what a sort of the room as it is gives, and a room restored from its snapshot agrees.
/// </summary>
public sealed class OccupantOrderTests
{
    [Fact]
    public void Both_orders_follow_entries_sessions_nick_changes_kicks_and_departures()
    {
        var room = TestRoom.Created();
        var entered = new List<string> { "Owner" };
        void Enter(string user, string nick)
        {
            room.Join(user, nick);
            entered.Add(nick);
            AssertOrders(room, entered);
        }

        Enter("m@localhost/a", "Mallory");
        Enter("c@localhost/a", "Carol");
        Enter("x@localhost/a", "Xavier");
        Enter("a@localhost/a", "Alice");
        room.Join("c@localhost/b", "Carol");
        AssertOrders(room, entered);

        room.Send("<presence from='x@localhost/a' to='room@conference.localhost/Bob'/>");
        // A new nick is a new occupant: it enters last.
        entered.Remove("Xavier");
        entered.Add("Bob");
        AssertOrders(room, entered);

        // A role set to the one the occupant has (a replayed or repeated event) leaves the room's occupants as they were.
        room.State.Apply(new OccupantRoleChanged("Alice", Role.Participant));
        AssertOrders(room, entered);
        room.Admin(TestRoom.Owner, "nick='Alice' role='moderator'");
        AssertOrders(room, entered);

        room.Admin(TestRoom.Owner, "nick='Mallory' role='none'");
        entered.Remove("Mallory");
        AssertOrders(room, entered);

        room.Leave("c@localhost/a", "Carol");
        AssertOrders(room, entered);
        room.Leave("c@localhost/b", "Carol");
        entered.Remove("Carol");
        AssertOrders(room, entered);

        Enter("z@localhost/a", "Zed");
        Enter("b@localhost/a", "Beth");
        AssertOrders(room.Restored(), entered);
    }

    /// <param name="entered">The nicks in the room in the order they entered.</param>
    private static void AssertOrders(TestRoom room, IReadOnlyList<string> entered)
    {
        Assert.Equal(entered.Order(StringComparer.Ordinal), room.State.OccupantNicks);
        // An entrant's roster lists the others in the order they entered, before its own presence.
        Assert.Equal(entered, RosterTo(room, "newcomer@localhost/x"));
    }

    /// <summary>The nicks of the roster a new entrant would get, in the order it gets them; the room is left as it was.</summary>
    private static IReadOnlyList<string> RosterTo(TestRoom room, string user)
    {
        var decision = room.State.Process(new HandleStanza(TestRoom.Stanza(
            $"<presence from='{user}' to='{TestRoom.Room}/Newcomer'><x xmlns='http://jabber.org/protocol/muc'/></presence>"), room.Now));
        return [.. decision.Deliveries
            .Where(delivery => delivery.To.ToString() == user && delivery.Stanza.Name.LocalName == "presence")
            .Select(delivery => Jid.Parse((string)delivery.Stanza.Attribute("from")!).Resource!)
            .Where(nick => nick != "Newcomer")];
    }
}
