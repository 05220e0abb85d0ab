using System.Text.Json;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>
/// What a room keeps across a crash of its node: its occupants (durable events), how far it processed each relay's
/// numbered stanzas, and the means to find out which occupants are still there (XEP-0199 pings whose errors remove them).
/// </summary>
public sealed class RecoveryTests
{
    [Fact]
    public void Occupants_are_durable_so_a_room_replayed_from_its_journal_has_them_with_their_presence_and_role()
    {
        var live = new TestRoom();
        var journal = new List<RoomEvent>();
        void Keep(Decision decision) => journal.AddRange(decision.Events.Where(e => e.IsDurable));
        Keep(live.Join(TestRoom.Owner, "Owner"));
        Keep(live.Configure(("muc#roomconfig_persistentroom", "1")));
        Keep(live.Join("juliet@localhost/balcony", "Juliet"));
        Keep(live.Join("nurse@localhost/a", "Nurse"));
        Keep(live.Send($"<presence from='juliet@localhost/balcony' to='{TestRoom.Room}/Juliet'><show>away</show></presence>"));
        Keep(live.Admin(TestRoom.Owner, "nick='Nurse' role='visitor'"));
        Keep(live.Leave("nurse@localhost/a", "Nurse"));
        Keep(live.Join("friar@localhost/cell", "Friar"));

        var replayed = new RoomState(TestRoom.RoomJid, live.Options);
        foreach (var @event in journal) replayed.Apply(JsonSerializer.Deserialize<RoomEvent>(JsonSerializer.Serialize(@event))!);

        Assert.Equal(["Friar", "Juliet", "Owner"], replayed.OccupantNicks);
        Assert.Equal(live.State.Sessions, replayed.Sessions);
        var juliet = replayed.PresenceOf("Juliet", [Jid.Parse("friar@localhost/cell")]).Single().Stanza;
        Assert.Equal("away", juliet.Element(Ns.Client + "show")?.Value);
    }

    [Fact]
    public void The_roster_an_entrant_gets_is_in_the_order_occupants_entered_also_after_a_snapshot()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        room.Join("nurse@localhost/a", "Nurse");
        room.Join("friar@localhost/cell", "Friar");
        List<string> RosterTo(TestRoom entered, string jid, string nick) =>
            [.. entered.Join(jid, nick).To(jid).Where(stanza => stanza.Name.LocalName == "presence")
                .Select(stanza => stanza.Attribute("from")!.Value[(TestRoom.Room.Length + 1)..]).Where(from => from != nick)];

        var restored = room.Restored();

        Assert.Equal(["Owner", "Nurse", "Friar"], RosterTo(room, "juliet@localhost/balcony", "Juliet"));
        Assert.Equal(["Owner", "Nurse", "Friar"], RosterTo(restored, "juliet@localhost/balcony", "Juliet"));
    }

    [Fact]
    public void A_relay_position_is_kept_in_the_journal_when_the_stanza_was_and_in_snapshots()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        Assert.Null(room.State.RelayedUpTo("killrc.oulubox.irc"));
        Assert.True(new RelayedStanzaProcessed("killrc.oulubox.irc", "k3x", 1, Kept: true).IsDurable);
        Assert.False(new RelayedStanzaProcessed("killrc.oulubox.irc", "k3x", 2, Kept: false).IsDurable);
        room.State.Apply(new RelayedStanzaProcessed("killrc.oulubox.irc", "k3x", 7, Kept: true));

        var restored = RoomState.FromSnapshot(TestRoom.RoomJid, room.Options,
            JsonSerializer.Deserialize<RoomSnapshot>(JsonSerializer.Serialize(room.State.ToSnapshot()))!);

        Assert.Equal(new RelayPosition("killrc.oulubox.irc", "k3x", 7), restored.RelayedUpTo("killrc.oulubox.irc"));
    }

    [Fact]
    public void A_snapshot_from_before_occupants_were_durable_restores_an_empty_room()
    {
        const string old = """{"Exists":true,"Config":{"Persistent":true},"LockedUntil":null,"Salt":"s","Affiliations":[],"Subject":null,"History":[]}""";
        var restored = RoomState.FromSnapshot(TestRoom.RoomJid, new TestRoom().Options, JsonSerializer.Deserialize<RoomSnapshot>(old)!);
        Assert.True(restored.Exists);
        Assert.Equal(0, restored.OccupantCount);
    }

    [Fact]
    public void Probing_pings_the_selected_sessions_from_the_room_and_an_error_answer_removes_the_session_with_333()
    {
        var room = TestRoom.Created();
        room.Join("juliet@localhost/balcony", "Juliet");
        room.Join("nurse@avalon.irc/a", "Nurse");

        var pings = room.State.ProbeSessions(session => session.Domain == "localhost", "probe-1");

        Assert.Equal(["owner@localhost/desk", "juliet@localhost/balcony"], pings.Select(ping => ping.To.ToString()).Order().Reverse());
        Assert.All(pings, ping => DecisionAssertions.Matches($"<iq from='{TestRoom.Room}' type='get' id='probe-1'><ping xmlns='urn:xmpp:ping'/></iq>", ping.Stanza));

        // Juliet's client answers; the nurse's server says her session is gone.
        Assert.Empty(room.Send($"<iq from='juliet@localhost/balcony' to='{TestRoom.Room}' type='result' id='probe-1'/>").Deliveries);
        var gone = room.Send($"<iq from='nurse@avalon.irc/a' to='{TestRoom.Room}' type='error' id='probe-1'>" +
                             "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");

        Assert.Equal(["Juliet", "Owner"], room.State.OccupantNicks);
        var seen = Assert.Single(gone.To("juliet@localhost/balcony"));
        Assert.Equal("unavailable", seen.Attribute("type")?.Value);
        Assert.Contains("333", seen.StatusCodes());
        Assert.Contains(gone.Events, e => e is OccupantSessionLeft { Nick: "Nurse" } && e.IsDurable);
    }

    [Fact]
    public void An_error_to_the_room_from_someone_not_in_it_changes_nothing()
    {
        var room = TestRoom.Created();
        var decision = room.Send($"<iq from='stranger@localhost/x' to='{TestRoom.Room}' type='error' id='probe-1'/>");
        Assert.Empty(decision.Events);
        Assert.Empty(decision.Deliveries);
    }
}
