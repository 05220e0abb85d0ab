using System.Text.Json;
using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>The RoomState contract: purity of Process, serializable events and snapshots, totality.</summary>
public sealed class StateContractTests
{
    [Fact]
    public void Every_event_type_round_trips_through_json()
    {
        var config = new RoomConfig { Name = "Garden", Password = "secret", MembersOnly = true, PresenceBroadcast = PresenceBroadcastRoles.Moderator };
        var time = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        RoomEvent[] events =
        [
            new RoomCreated(Jid.Parse("romeo@localhost"), config, time, "salt"),
            new RoomConfigured(config with { Whois = Whois.Anyone }),
            new AffiliationChanged(Jid.Parse("tybalt@localhost"), Affiliation.Outcast, null, "Hey calm down"),
            new AffiliationChanged(Jid.Parse("juliet@localhost"), Affiliation.Member, "Juliet", null),
            new SubjectChanged(new RoomSubject("Verona", "Romeo", time)),
            new HistoryMessageAdded(new HistoryEntry("<message xmlns='jabber:client'/>", Jid.Parse("romeo@localhost"), "Romeo", time, "sid")),
            new RoomDestroyed("bye", Jid.Parse("elsewhere@conference.localhost"), time),
            new MessageRetracted("sid", time, "retraction", "room@conference.localhost/Romeo", "occupant-id", "Spam"),
            new ArchivedMessagesExpired(41, "sid"),
            new OccupantSessionUpdated("Romeo", Jid.Parse("romeo@localhost/a"), "<presence xmlns='jabber:client'/>", Role.Moderator),
            new OccupantSessionLeft("Romeo", Jid.Parse("romeo@localhost/a"), time),
            new OccupantRoleChanged("Romeo", Role.Visitor),
            new OccupantStanzaCounted(Jid.Parse("romeo@localhost"), time),
            new RelayedStanzaProcessed("killrc.oulubox.irc", "k3x", 17, Kept: true),
            new RelayDelivered("killrc.oulubox.irc", "sid", [Jid.Parse("argl@killrc.oulubox.irc/laptop")], Journaled: true),
            new SessionLetGo("Wumpus", Jid.Parse("argl@killrc.oulubox.irc/laptop"), time, Told: false),
            new LetGoTold("killrc.oulubox.irc", time),
        ];
        var eventTypes = typeof(RoomEvent).Assembly.GetTypes().Where(type => !type.IsAbstract && type.IsSubclassOf(typeof(RoomEvent)));
        Assert.Equal(eventTypes.OrderBy(type => type.Name), events.Select(e => e.GetType()).Distinct().OrderBy(type => type.Name));
        foreach (var @event in events)
        {
            var json = JsonSerializer.Serialize(@event);
            var back = JsonSerializer.Deserialize<RoomEvent>(json);
            Assert.NotNull(back);
            Assert.Equal(@event.GetType(), back.GetType());
            Assert.Equal(json, JsonSerializer.Serialize(back));
            Assert.Contains("\"$type\"", json);
        }
    }

    [Fact]
    public void A_snapshot_round_trips_through_json_and_restores_the_durable_state()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_roomname", "Garden"));
        room.Admin(TestRoom.Owner, "affiliation='member' jid='juliet@localhost' nick='Juliet'");
        room.Say(TestRoom.Owner, "hello");
        room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat'><subject>Verona</subject></message>");

        var snapshot = room.State.ToSnapshot();
        var json = JsonSerializer.Serialize(snapshot);
        var restored = RoomState.FromSnapshot(TestRoom.RoomJid, room.Options, JsonSerializer.Deserialize<RoomSnapshot>(json)!);

        Assert.Equal(json, JsonSerializer.Serialize(restored.ToSnapshot()));
        Assert.True(restored.Exists);
        Assert.True(restored.IsPersistent);
        // Occupants are durable: the owner is still in the room the snapshot restores.
        Assert.Equal(["Owner"], restored.OccupantNicks);
        Assert.Equal(room.State.Sessions, restored.Sessions);
        Assert.False(restored.CanPassivate);
        Assert.Single(snapshot.History);
        Assert.Equal("Verona", snapshot.Subject?.Text);
        Assert.Contains(snapshot.Affiliations, entry => entry.ReservedNick == "Juliet" && entry.Affiliation == Affiliation.Member);
    }

    [Fact]
    public void Replaying_the_events_rebuilds_the_same_state()
    {
        var live = new TestRoom();
        var journal = new List<RoomEvent>();
        foreach (var decision in new[]
                 {
                     live.Join(TestRoom.Owner, "Owner"), live.Configure(("muc#roomconfig_persistentroom", "1")),
                     live.Say(TestRoom.Owner, "one"), live.Admin(TestRoom.Owner, "affiliation='outcast' jid='tybalt@localhost'"),
                 })
        {
            journal.AddRange(decision.Events.Where(e => e.IsDurable));
        }
        var replayed = new RoomState(TestRoom.RoomJid, live.Options);
        foreach (var @event in journal) replayed.Apply(JsonSerializer.Deserialize<RoomEvent>(JsonSerializer.Serialize(@event))!);

        Assert.Equal(JsonSerializer.Serialize(live.State.ToSnapshot()), JsonSerializer.Serialize(replayed.ToSnapshot()));
    }

    [Fact]
    public void Process_does_not_change_the_room()
    {
        var room = TestRoom.Created();
        room.Join("juliet@localhost/balcony", "Juliet");
        var before = JsonSerializer.Serialize(room.State.ToSnapshot());

        var stanzas = new[]
        {
            $"<presence from='nurse@localhost/a' to='{TestRoom.Room}/Nurse'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
            $"<presence from='juliet@localhost/balcony' to='{TestRoom.Room}/Juliet' type='unavailable'/>",
            $"<message from='{TestRoom.Owner}' to='{TestRoom.Room}' type='groupchat'><body>hi</body></message>",
            $"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='set' id='d'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>",
        };
        foreach (var stanza in stanzas)
        {
            var decision = room.State.Process(new HandleStanza(TestRoom.Stanza(stanza), room.Now));
            Assert.NotEmpty(decision.Events);
        }
        Assert.NotEmpty(room.State.Process(new ShutDownRoom(room.Now)).Events);

        Assert.Equal(before, JsonSerializer.Serialize(room.State.ToSnapshot()));
        Assert.Equal(2, room.State.OccupantCount);
        Assert.True(room.State.Exists);
    }

    [Fact]
    public void Deliveries_carry_from_and_leave_to_to_the_sender()
    {
        var room = TestRoom.Created();
        var decisions = new[] { room.Join("juliet@localhost/balcony", "Juliet"), room.Say(TestRoom.Owner, "hi"), room.Leave("juliet@localhost/balcony", "Juliet") };
        foreach (var delivery in decisions.SelectMany(decision => decision.Deliveries))
        {
            Assert.NotNull(delivery.Stanza.Attribute("from"));
            Assert.Null(delivery.Stanza.Attribute("to"));
        }
    }

    [Fact]
    public void A_groupchat_message_is_one_instance_for_every_recipient()
    {
        var room = TestRoom.Created();
        room.Join("juliet@localhost/balcony", "Juliet");
        room.Join("juliet@localhost/garden", "Juliet");
        room.Join("nurse@localhost/a", "Nurse");

        var decision = room.Say("nurse@localhost/a", "Juliet!");

        Assert.Equal(4, decision.Deliveries.Count);
        Assert.Single(decision.Deliveries.Select(delivery => delivery.Stanza).Distinct());
    }

    [Fact]
    public void A_presence_broadcast_in_a_semi_anonymous_room_is_two_instances_plus_the_self_presence()
    {
        var room = TestRoom.Created();
        room.Join("juliet@localhost/balcony", "Juliet");
        room.Join("nurse@localhost/a", "Nurse");
        room.Join("friar@localhost/cell", "Friar");

        var decision = room.Send($"<presence from='nurse@localhost/a' to='{TestRoom.Room}/Nurse'><show>away</show></presence>");

        var toOthers = decision.Deliveries.Where(delivery => delivery.To.Bare != Jid.Parse("nurse@localhost")).Select(d => d.Stanza).Distinct().ToList();
        Assert.Equal(2, toOthers.Count); // with the JID for the moderator (Owner), without for Juliet and Friar
        Assert.Same(decision.To("juliet@localhost/balcony")[0], decision.To("friar@localhost/cell")[0]);
        Assert.Single(decision.To("nurse@localhost/a"));
    }

    [Theory]
    [InlineData("<message to='room@conference.localhost' type='groupchat'><body>no sender</body></message>")]
    [InlineData("<foo from='romeo@localhost/a' to='room@conference.localhost'/>")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='result' id='x'/>")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost/Romeo' type='unavailable'/>")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost/Romeo' type='error'/>")]
    public void Stanzas_that_need_no_answer_get_none(string xml)
    {
        var decision = new TestRoom().Send(xml);
        Assert.Empty(decision.Deliveries);
        Assert.Empty(decision.Events);
    }

    [Theory]
    [InlineData("<message from='romeo@localhost/a' to='room@conference.localhost' type='groupchat'><body>x</body></message>", "item-not-found")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "item-not-found")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost/Romeo'/>", "item-not-found")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost'><x xmlns='http://jabber.org/protocol/muc'/></presence>", "jid-malformed")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost/'><x xmlns='http://jabber.org/protocol/muc'/></presence>", "jid-malformed")]
    [InlineData("<presence from='romeo@localhost/a' to='other@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>", "jid-malformed")]
    public void Stanzas_to_a_room_that_does_not_exist_are_refused(string xml, string condition)
    {
        var room = new TestRoom();
        room.Send(xml).HasError("romeo@localhost/a", condition);
        Assert.False(room.State.Exists);
    }

    [Theory]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "bad-request")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='get' id='1'/>", "bad-request")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='fetch' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "bad-request")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='get' id='1'><query xmlns='urn:example:unknown'/></iq>", "service-unavailable")]
    [InlineData("<presence from='romeo@localhost/a' to='room@conference.localhost/Owner' type='subscribe'/>", "bad-request")]
    [InlineData("<message from='romeo@localhost/a' to='room@conference.localhost' type='chat'><body>x</body></message>", "service-unavailable")]
    [InlineData("<message from='romeo@localhost/a' to='room@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><invite/></x></message>", "bad-request")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'/></iq>", "bad-request")]
    [InlineData("<iq from='romeo@localhost/a' to='room@conference.localhost' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='not a jid@@'/></query></iq>", "jid-malformed")]
    public void Malformed_stanzas_get_the_right_error(string xml, string condition)
    {
        TestRoom.Created().Send(xml).HasError("romeo@localhost/a", condition);
    }

    [Fact]
    public void Process_is_total_for_odd_input()
    {
        var room = TestRoom.Created();
        string[] odd =
        [
            "<message from='romeo@localhost/a' to='room@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><invite to=''/></x></message>",
            "<iq from='romeo@localhost/a' to='room@conference.localhost/Owner' type='result' id='%%%'/>",
            "<iq from='romeo@localhost/a' to='room@conference.localhost/Owner' type='result' id='AAAA'/>",
            "<presence from='romeo@localhost/a' to='room@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='-1' seconds='x' since='never'/></x></presence>",
            $"<iq from='{TestRoom.Owner}' to='room@conference.localhost' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_historylength'><value>-5</value></field><field var='muc#roomconfig_whois'><value>nobody</value></field></x></query></iq>",
            $"<iq from='{TestRoom.Owner}' to='room@conference.localhost' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='sovereign' nick='Owner'/></query></iq>",
            "<message from='romeo@localhost/a' to='room@conference.localhost/Owner' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        ];
        foreach (var xml in odd)
        {
            var decision = room.Send(xml);
            Assert.DoesNotContain(decision.Deliveries, delivery => delivery.Stanza.ToString().Contains("internal-server-error"));
        }
        Assert.True(room.State.Exists);
    }
}
