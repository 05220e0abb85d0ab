using Dmuc.Xmpp;
using static Dmuc.Rooms.Tests.DecisionAssertions;

namespace Dmuc.Rooms.Tests;

public sealed class MessageTests
{
    private const string Juliet = "juliet@localhost/balcony";

    [Fact]
    public void A_groupchat_message_goes_to_everyone_with_the_rooms_stanza_id_and_enters_the_history()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Say(Juliet, "Romeo?", id: "j1");

        var added = Assert.IsType<HistoryMessageAdded>(Assert.Single(decision.Events));
        Assert.True(added.IsDurable);
        var message = Assert.Single(decision.To(TestRoom.Owner));
        Matches($"<message from='{TestRoom.Room}/Juliet' type='groupchat' id='j1'><body>Romeo?</body></message>", message);
        var stanzaId = message.Element(Ns.StanzaId + "stanza-id");
        Assert.Equal(TestRoom.Room, stanzaId?.Attribute("by")?.Value);
        Assert.Equal(added.Entry.StanzaId, stanzaId?.Attribute("id")?.Value);
        Assert.NotNull(message.Element((System.Xml.Linq.XNamespace)"urn:xmpp:occupant-id:0" + "occupant-id"));
    }

    [Fact]
    public void Stanza_ids_are_distinct_random_uuids_across_draws_and_threads()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var fromRoom = Enumerable.Range(0, 3).Select(i => room.Say(Juliet, "Romeo?", id: $"j{i}"))
            .Select(decision => Assert.IsType<HistoryMessageAdded>(Assert.Single(decision.Events)).Entry.StanzaId);
        // Several threads, each past its buffer's end more than once (64 ids a draw).
        var drawn = Enumerable.Range(0, 4).AsParallel().SelectMany(_ => Enumerable.Range(0, 1_000).Select(_ => StanzaIds.New()).ToList()).ToList();

        var ids = fromRoom.Concat(drawn).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(Guid.TryParseExact(id, "D", out var uuid) && uuid.Version == 4 && uuid.Variant is >= 8 and <= 0xB, id));
    }

    [Fact]
    public void Forged_room_delays_and_stanza_ids_are_dropped()
    {
        var room = TestRoom.Created();
        var decision = room.Send($"""
            <message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat' id='x'><body>hi</body>
              <delay xmlns='urn:xmpp:delay' from='{TestRoom.Room}' stamp='2000-01-01T00:00:00Z'/>
              <stanza-id xmlns='urn:xmpp:sid:0' by='{TestRoom.Room}' id='forged'/>
            </message>
            """);
        var message = Assert.Single(decision.To(TestRoom.Owner));
        Assert.Null(message.Element(Ns.Delay + "delay"));
        Assert.NotEqual("forged", message.Element(Ns.StanzaId + "stanza-id")?.Attribute("id")?.Value);
    }

    [Fact]
    public void A_message_sent_earlier_than_the_room_hears_of_it_is_kept_with_its_time_and_relayed_as_delayed()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var sentAt = room.Now.AddMinutes(-3);

        var decision = room.Run(new HandleStanza(TestRoom.Stanza(
            $"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat' id='j1'><body>Romeo?</body></message>"), room.Now, sentAt));

        var added = Assert.IsType<HistoryMessageAdded>(Assert.Single(decision.Events));
        Assert.Equal(sentAt, added.Entry.Timestamp);
        Assert.Null(System.Xml.Linq.XElement.Parse(added.Entry.Stanza).Element(Ns.Delay + "delay"));
        var message = Assert.Single(decision.To(TestRoom.Owner));
        var delay = message.Element(Ns.Delay + "delay");
        Assert.Equal(TestRoom.Room, delay?.Attribute("from")?.Value);
        Assert.Equal(sentAt, DateTimeOffset.Parse(delay!.Attribute("stamp")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotNull(message.Element(Ns.StanzaId + "stanza-id"));
    }

    [Fact]
    public void Only_occupants_with_voice_may_speak()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Say("stranger@localhost/a", "hi").HasError("stranger@localhost/a", "not-acceptable", "cancel");
        room.Join(Juliet, "Juliet");
        room.Say(Juliet, "hi").HasError(Juliet, "forbidden", "auth");
    }

    [Fact]
    public void A_subject_alone_changes_the_subject_and_new_occupants_see_it_last()
    {
        var room = TestRoom.Created();
        var decision = room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat'><subject>Verona</subject></message>");

        Assert.IsType<SubjectChanged>(Assert.Single(decision.Events));
        decision.SingleMatching(TestRoom.Owner, $"<message from='{TestRoom.Room}/Owner' type='groupchat'><subject>Verona</subject></message>");
        Matches($"<message from='{TestRoom.Room}/Owner' type='groupchat'><subject>Verona</subject><delay xmlns='urn:xmpp:delay' from='{TestRoom.Room}' stamp='{{scansion:any}}'/></message>",
            room.Join(Juliet, "Juliet").To(Juliet)[^1]);
    }

    [Fact]
    public void A_subject_with_a_body_is_an_ordinary_message()
    {
        var room = TestRoom.Created();
        var decision = room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat'><subject>Greetings</subject><body>Hello</body></message>");
        Assert.IsType<HistoryMessageAdded>(Assert.Single(decision.Events));
        Assert.Null(room.State.ToSnapshot().Subject);
    }

    [Fact]
    public void Participants_may_not_change_the_subject_unless_allowed()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var subject = $"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat'><subject>Mine</subject></message>";
        room.Send(subject).HasError(Juliet, "forbidden", "auth");
        room.Configure(("muc#roomconfig_changesubject", "1"));
        Assert.IsType<SubjectChanged>(Assert.Single(room.Send(subject).Events));
    }

    [Fact]
    public void A_private_message_reaches_every_session_of_the_recipient_from_the_senders_nick()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Join("juliet@localhost/garden", "Juliet");
        var decision = room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}/Juliet' type='chat' id='pm'><body>psst</body></message>");

        Assert.Empty(decision.Events);
        Assert.Equal(2, decision.Deliveries.Count);
        Assert.Same(decision.Deliveries[0].Stanza, decision.Deliveries[1].Stanza);
        Matches($"<message from='{TestRoom.Room}/Owner' type='chat' id='pm'><body>psst</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>", decision.Deliveries[0].Stanza);
    }

    [Fact]
    public void Private_messages_need_a_sender_in_the_room_and_a_recipient_there()
    {
        var room = TestRoom.Created();
        room.Send($"<message from='{Juliet}' to='{TestRoom.Room}/Owner' type='chat'><body>x</body></message>").HasError(Juliet, "not-acceptable");
        room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}/Nobody' type='chat'><body>x</body></message>").HasError(TestRoom.Owner, "item-not-found");
        room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}/Owner' type='groupchat'><body>x</body></message>").HasError(TestRoom.Owner, "bad-request");
    }

    [Theory]
    [InlineData("", 3)]
    [InlineData("<history maxstanzas='2'/>", 2)]
    [InlineData("<history maxchars='0'/>", 0)]
    [InlineData("<history seconds='3'/>", 1)]
    public void Entering_sessions_get_the_history_they_ask_for(string limits, int expected)
    {
        var room = TestRoom.Created();
        for (var index = 0; index < 3; index++)
        {
            room.Now = room.Now.AddSeconds(10);
            room.Say(TestRoom.Owner, $"message {index}", $"m{index}");
        }
        var delayed = room.Join(Juliet, "Juliet", limits).To(Juliet).Count(stanza => stanza.Element(Ns.Delay + "delay") is not null);
        Assert.Equal(expected, delayed);
    }

    [Fact]
    public void Entrants_get_at_most_the_configured_number_of_messages()
    {
        var room = TestRoom.Created(("muc#roomconfig_historylength", "2"));
        for (var index = 0; index < 5; index++) room.Say(TestRoom.Owner, $"message {index}", $"m{index}");
        Assert.Equal(["message 3", "message 4"], room.State.History.Select(entry => System.Xml.Linq.XElement.Parse(entry.Stanza).Value));
        var replayed = room.Join(Juliet, "Juliet", "<history maxstanzas='10'/>").To(Juliet)
            .Where(stanza => stanza.Element(Ns.Delay + "delay") is not null).Select(stanza => stanza.Element(Ns.Client + "body")?.Value);
        Assert.Equal(["message 3", "message 4"], replayed);
    }

    [Fact]
    public void Messages_beyond_the_history_stay_for_netjoins_up_to_the_backlog()
    {
        var room = new TestRoom(new MucServiceOptions("conference.localhost", new HashSet<Jid>()) { NetjoinBacklog = 4 });
        room.Join(TestRoom.Owner, "Owner");
        room.Configure(("muc#roomconfig_historylength", "2"));
        var ids = Enumerable.Range(0, 6).Select(index => Assert.IsType<HistoryMessageAdded>(
            Assert.Single(room.Say(TestRoom.Owner, $"message {index}", $"m{index}").Events.OfType<HistoryMessageAdded>())).Entry.StanzaId).ToList();
        string[] Bodies(IEnumerable<(System.Xml.Linq.XElement Message, DateTimeOffset AcceptedAt)> kept) =>
            kept.Select(message => message.Message.Element(Ns.Client + "body")!.Value).ToArray();

        var afterThird = room.State.HistoryAfter(ids[3]);
        Assert.True(afterThird.Complete);
        Assert.Equal(["message 4", "message 5"], Bodies(afterThird.Messages));
        // Older than the history, still in the backlog: a netjoin gets everything after it.
        var afterSecond = room.State.HistoryAfter(ids[2]);
        Assert.True(afterSecond.Complete);
        Assert.Equal(["message 3", "message 4", "message 5"], Bodies(afterSecond.Messages));
        // The newest dropped: everything kept, which is everything after it.
        var afterSecondDropped = room.State.HistoryAfter(ids[1]);
        Assert.True(afterSecondDropped.Complete);
        Assert.Equal(["message 2", "message 3", "message 4", "message 5"], Bodies(afterSecondDropped.Messages));
        // Dropped from the backlog: everything kept, and the netjoin knows that does not reach back far enough.
        var afterFirst = room.State.HistoryAfter(ids[0]);
        Assert.False(afterFirst.Complete);
        Assert.Equal(["message 2", "message 3", "message 4", "message 5"], Bodies(afterFirst.Messages));
        Assert.Equal(["message 4", "message 5"], room.State.History.Select(entry => System.Xml.Linq.XElement.Parse(entry.Stanza).Value));
    }

    [Fact]
    public void Messages_without_body_or_store_hint_stay_out_of_the_history()
    {
        var room = TestRoom.Created();
        var decision = room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
        Assert.Empty(decision.Events);
        Assert.Single(decision.Deliveries);
    }

    [Fact]
    public void A_mediated_invitation_is_relayed_from_the_room()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomsecret", "pw"));
        var decision = room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' id='inv'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='juliet@localhost'><reason>Come</reason></invite></x></message>");
        decision.SingleMatching("juliet@localhost", $"""
            <message from='{TestRoom.Room}' id='inv'>
              <x xmlns='http://jabber.org/protocol/muc#user'><invite from='{TestRoom.Room}/Owner'><reason>Come</reason></invite><password>pw</password></x>
              <body>{TestRoom.Room}/Owner invited you to the room {TestRoom.Room} (Come)</body>
              <x xmlns='jabber:x:conference' jid='{TestRoom.Room}'>Come</x>
            </message>
            """);
    }

    [Fact]
    public void Inviting_into_a_members_only_room_needs_an_admin_and_makes_the_invitee_a_member()
    {
        var room = TestRoom.Created(("muc#roomconfig_membersonly", "1"));
        room.Admin(TestRoom.Owner, "affiliation='member' jid='juliet@localhost'");
        room.Join(Juliet, "Juliet");
        var invite = (string from) => $"<message from='{from}' to='{TestRoom.Room}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='nurse@localhost'/></x></message>";

        room.Send(invite(Juliet)).HasError(Juliet, "forbidden", "auth");
        var decision = room.Send(invite(TestRoom.Owner));
        Assert.Contains(decision.Events, e => e is AffiliationChanged { Affiliation: Affiliation.Member } changed && changed.Jid == Jid.Parse("nurse@localhost"));
        Assert.Single(decision.To("nurse@localhost"));
    }
}
