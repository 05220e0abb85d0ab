using System.Xml.Linq;
using Dmuc.Xmpp;
using static Dmuc.Rooms.Tests.DecisionAssertions;

namespace Dmuc.Rooms.Tests;

/// <summary>Join errors, disco features, the later configuration fields, voice requests and tombstones.</summary>
public sealed class RoomFeatureTests
{
    private const string Juliet = "juliet@localhost/balcony";
    private const string Romeo = "romeo@localhost/garden";

    [Fact]
    public void A_refused_join_carries_the_muc_payload_back()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomsecret", "secret"));
        var reply = Assert.Single(room.Join(Juliet, "Juliet").To(Juliet));
        Matches($"<presence type='error' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc'/><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>", reply);
    }

    [Fact]
    public void An_error_to_a_stanza_without_the_muc_payload_carries_none()
    {
        var room = TestRoom.Created();
        var reply = Assert.Single(room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet'/>").To(Juliet));
        Assert.Null(reply.Element(Ns.Muc + "x"));
    }

    [Fact]
    public void Disco_info_lists_stanza_ids_voice_requests_and_ping()
    {
        var room = TestRoom.Created();
        var reply = Assert.Single(room.Send($"<iq from='{Juliet}' to='{TestRoom.Room}' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>").To(Juliet));
        var features = reply.Descendants(Ns.DiscoInfo + "feature").Select(feature => feature.Attribute("var")!.Value).ToList();
        Assert.Contains("urn:xmpp:sid:0", features);
        Assert.Contains("http://jabber.org/protocol/muc#request", features);
        Assert.Contains("urn:xmpp:ping", features);
    }

    [Fact]
    public void A_full_room_refuses_newcomers_with_service_unavailable_but_not_owners_or_more_sessions()
    {
        var room = TestRoom.Created(("muc#roomconfig_maxusers", "2"));
        room.Join(Juliet, "Juliet");
        room.Join(Romeo, "Romeo").HasError(Romeo, "service-unavailable", "wait");
        Assert.Single(room.Join("juliet@localhost/phone", "Juliet").Events);
        room.Leave(TestRoom.Owner, "Owner");
        Assert.Single(room.Join(TestRoom.Owner, "Owner").Events);
        Assert.Equal(2, room.State.OccupantCount);
    }

    [Fact]
    public void An_empty_maximum_means_no_limit()
    {
        var room = TestRoom.Created(("muc#roomconfig_maxusers", "1"));
        room.Configure(("muc#roomconfig_maxusers", ""));
        Assert.Null(room.State.Config.MaxUsers);
        Assert.Single(room.Join(Juliet, "Juliet").Events);
    }

    [Theory]
    [InlineData("anyone", false, true)]
    [InlineData("participants", false, true)]
    [InlineData("participants", true, false)]
    [InlineData("moderators", false, false)]
    [InlineData("none", false, false)]
    public void Private_messages_follow_allowpm(string allowpm, bool senderIsVisitor, bool delivered)
    {
        var room = TestRoom.Created(("muc#roomconfig_allowpm", allowpm), ("muc#roomconfig_moderatedroom", senderIsVisitor ? "1" : "0"));
        room.Join(Juliet, "Juliet");
        var decision = room.Send($"<message from='{Juliet}' to='{TestRoom.Room}/Owner' type='chat'><body>psst</body></message>");
        if (delivered) Assert.Single(decision.To(TestRoom.Owner));
        else decision.HasError(Juliet, "forbidden");
    }

    [Fact]
    public void Moderators_may_always_send_private_messages_unless_none_are_allowed()
    {
        var room = TestRoom.Created(("muc#roomconfig_allowpm", "moderators"));
        room.Join(Juliet, "Juliet");
        Assert.Single(room.Send($"<message from='{TestRoom.Owner}' to='{TestRoom.Room}/Juliet' type='chat'><body>hi</body></message>").To(Juliet));
    }

    [Fact]
    public void Entrants_who_do_not_ask_get_the_default_number_of_history_messages()
    {
        var room = TestRoom.Created(("muc#roomconfig_defaulthistorymessages", "2"));
        for (var i = 0; i < 5; i++) room.Say(TestRoom.Owner, $"m{i}");
        Assert.Equal(2, room.Join(Juliet, "Juliet").To(Juliet).Count(IsHistory));
        Assert.Equal(4, room.Join(Romeo, "Romeo", "<history maxstanzas='4'/>").To(Romeo).Count(IsHistory));
    }

    [Fact]
    public void The_form_shows_and_takes_the_archive_switch()
    {
        var room = TestRoom.Created(("muc#roomconfig_enablearchiving", "0"));
        Assert.False(room.State.Config.Archived);
        var form = Assert.Single(room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>").To(TestRoom.Owner));
        var field = form.Descendants(Ns.DataForms + "field").Single(f => f.Attribute("var")?.Value == "muc#roomconfig_enablearchiving");
        Assert.Equal("0", field.Element(Ns.DataForms + "value")?.Value);
    }

    [Fact]
    public void A_visitors_voice_request_reaches_the_moderators_and_their_approval_gives_voice()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Join(Juliet, "Juliet");
        var request = room.Send(VoiceForm(Juliet, "<field var='muc#role'><value>participant</value></field>"));

        var approval = Assert.Single(request.To(TestRoom.Owner));
        Assert.Empty(request.To(Juliet));
        var fields = DataFields(approval);
        Assert.Equal(Juliet, fields["muc#jid"]);
        Assert.Equal("Juliet", fields["muc#roomnick"]);
        Assert.Equal("0", fields["muc#request_allow"]);

        var granted = room.Send(VoiceForm(TestRoom.Owner,
            "<field var='muc#roomnick'><value>Juliet</value></field><field var='muc#request_allow'><value>true</value></field>"));
        Assert.Contains(granted.To(Juliet), stanza => stanza.MucUser()?.Element(Ns.MucUser + "item")?.Attribute("role")?.Value == "participant");
        Assert.Single(room.Say(Juliet, "Thank you").Events);
    }

    [Fact]
    public void Voice_requests_are_refused_to_those_with_voice_non_occupants_and_rooms_without_moderators_and_approvals_to_non_moderators()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Join(Juliet, "Juliet");
        room.Send(VoiceForm(TestRoom.Owner, "")).HasError(TestRoom.Owner, "bad-request");
        room.Send(VoiceForm(Romeo, "")).HasError(Romeo, "not-acceptable");
        room.Send(VoiceForm(Juliet, "<field var='muc#roomnick'><value>Juliet</value></field><field var='muc#request_allow'><value>1</value></field>"))
            .HasError(Juliet, "forbidden");
        room.Send(VoiceForm(TestRoom.Owner, "<field var='muc#roomnick'><value>Nobody</value></field><field var='muc#request_allow'><value>1</value></field>"))
            .HasError(TestRoom.Owner, "item-not-found");
        room.Leave(TestRoom.Owner, "Owner");
        room.Send(VoiceForm(Juliet, "")).HasError(Juliet, "recipient-unavailable", "wait");
    }

    [Fact]
    public void A_declined_voice_request_changes_nothing()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Join(Juliet, "Juliet");
        var declined = room.Send(VoiceForm(TestRoom.Owner,
            "<field var='muc#roomnick'><value>Juliet</value></field><field var='muc#request_allow'><value>0</value></field>"));
        Assert.Empty(declined.Deliveries);
        room.Say(Juliet, "Still mute").HasError(Juliet, "forbidden");
    }

    [Fact]
    public void A_destroyed_persistent_room_answers_gone_with_the_alternate_venue_until_its_tombstone_expires()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='set' id='x'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='elsewhere@conference.localhost'><reason>Moved</reason></destroy></query></iq>");

        var refused = Assert.Single(room.Join(Juliet, "Juliet").To(Juliet));
        Matches($"<presence type='error' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc'/><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:elsewhere@conference.localhost?join</gone><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Moved</text></error></presence>", refused);
        room.Send($"<message from='{Juliet}' to='{TestRoom.Room}' type='groupchat'><body>hello?</body></message>").HasError(Juliet, "gone");
        Assert.Empty(room.Leave(Juliet, "Juliet").Deliveries);

        var restored = RoomState.FromSnapshot(TestRoom.RoomJid, room.Options, room.State.ToSnapshot());
        Assert.Single(restored.Process(new HandleStanza(TestRoom.Stanza($"<presence from='{Juliet}' to='{TestRoom.Room}/J'><x xmlns='http://jabber.org/protocol/muc'/></presence>"), room.Now)).Deliveries,
            delivery => delivery.Stanza.Descendants(Ns.Stanzas + "gone").Any());

        room.Now += room.Options.TombstoneLifetime!.Value;
        Assert.Contains(room.Join(Juliet, "Juliet").Events, e => e is RoomCreated);
    }

    [Fact]
    public void A_service_admin_may_create_a_tombstoned_room_again_and_temporary_rooms_leave_no_tombstone()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        room.Run(new DestroyRoom("Closed", null, room.Now));
        Assert.Contains(room.Join("admin@localhost/console", "Admin").Events, e => e is RoomCreated);

        var temporary = TestRoom.Created();
        temporary.Leave(TestRoom.Owner, "Owner");
        Assert.Contains(temporary.Join(Juliet, "Juliet").Events, e => e is RoomCreated);
    }

    private static XElement VoiceForm(string from, string fields) => TestRoom.Stanza(
        $"<message from='{from}' to='{TestRoom.Room}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>{fields}</x></message>");

    private static Dictionary<string, string?> DataFields(XElement stanza) =>
        stanza.Descendants(Ns.DataForms + "field").ToDictionary(field => field.Attribute("var")!.Value,
            field => field.Element(Ns.DataForms + "value")?.Value);

    private static bool IsHistory(XElement stanza) => stanza.Element(Ns.Delay + "delay") is not null;
}
