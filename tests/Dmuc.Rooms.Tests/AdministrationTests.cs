using System.Xml.Linq;
using Dmuc.Xmpp;
using static Dmuc.Rooms.Tests.DecisionAssertions;

namespace Dmuc.Rooms.Tests;

/// <summary>Roles, affiliations, configuration and destruction.</summary>
public sealed class AdministrationTests
{
    private const string Juliet = "juliet@localhost/balcony";

    [Fact]
    public void A_kicked_or_banned_occupant_counts_among_the_room_s_recent_departures_as_one_who_left()
    {
        // A replica node's next life is told who left while it was down from these (docs/protocol/netjoin.md §5).
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Join("romeo@localhost/street", "Romeo");
        room.Admin(TestRoom.Owner, "nick='Juliet' role='none'");
        room.Admin(TestRoom.Owner, "jid='romeo@localhost' affiliation='outcast'");

        Assert.Equal(["Juliet", "Romeo"], room.State.Departures.Since(null).Order());
    }

    [Fact]
    public void A_moderator_kicks_with_307_actor_and_reason()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Admin(TestRoom.Owner, "nick='Juliet' role='none'", "<reason>Out!</reason>");

        Assert.Equal(1, room.State.OccupantCount);
        var toOwner = decision.To(TestRoom.Owner);
        Matches($"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><status code='307'/><item affiliation='none' role='none' jid='{Juliet}'><actor nick='Owner' jid='{TestRoom.Owner}'/><reason>Out!</reason></item></x></presence>", toOwner[0]);
        Matches($"<iq type='result' id='admin' from='{TestRoom.Room}'/>", toOwner[1]);
        decision.SingleMatching(Juliet, $"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><status code='307'/><item affiliation='none' role='none' jid='{Juliet}'><actor nick='Owner'/><reason>Out!</reason></item><status code='110'/></x></presence>");
    }

    [Fact]
    public void Participants_cannot_kick_and_nobody_kicks_a_higher_affiliation()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Admin(Juliet, "nick='Owner' role='none'").HasError(Juliet, "not-allowed", "cancel");
        room.Admin(TestRoom.Owner, "nick='Nobody' role='none'").HasError(TestRoom.Owner, "item-not-found");
    }

    [Fact]
    public void Voice_is_granted_in_moderated_rooms()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Join(Juliet, "Juliet");
        var decision = room.Admin(TestRoom.Owner, "nick='Juliet' role='participant'");
        Assert.Contains(decision.To(Juliet), stanza => stanza.MucUser()?.Element(Ns.MucUser + "item")?.Attribute("role")?.Value == "participant");
        Assert.Single(room.Say(Juliet, "At last").Events);
    }

    [Fact]
    public void Making_someone_moderator_in_a_semi_anonymous_room_shows_them_the_jids()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Admin(TestRoom.Owner, "nick='Juliet' role='moderator'");
        Assert.Contains(decision.To(Juliet), stanza => stanza.Attribute("from")?.Value == $"{TestRoom.Room}/Owner"
            && stanza.MucUser()?.Element(Ns.MucUser + "item")?.Attribute("jid")?.Value == TestRoom.Owner);
    }

    [Fact]
    public void Banning_an_occupant_removes_it_with_301()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Admin(TestRoom.Owner, "affiliation='outcast' jid='juliet@localhost'", "<reason>Feud</reason>");

        Assert.Contains("301", decision.To(Juliet).Single().StatusCodes());
        Assert.Equal(1, room.State.OccupantCount);
        room.Join(Juliet, "Juliet").HasError(Juliet, "forbidden", "auth");
    }

    [Fact]
    public void Banning_a_domain_bans_its_users()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='outcast' jid='montague.example'");
        room.Join("romeo@montague.example/a", "Romeo").HasError("romeo@montague.example/a", "forbidden");
    }

    [Fact]
    public void The_last_owner_cannot_step_down_and_admins_cannot_touch_owners()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='member' jid='owner@localhost'").HasError(TestRoom.Owner, "conflict", "cancel");
        room.Admin(TestRoom.Owner, "affiliation='admin' jid='juliet@localhost'");
        room.Admin(Juliet, "affiliation='none' jid='owner@localhost'").HasError(Juliet, "not-allowed");
        room.Admin(Juliet, "affiliation='owner' jid='nurse@localhost'").HasError(Juliet, "not-allowed");
        Assert.Single(room.Admin(Juliet, "affiliation='member' jid='nurse@localhost'").To(Juliet), stanza => stanza.Attribute("type")?.Value == "result");
    }

    [Fact]
    public void Service_admins_own_every_room()
    {
        var room = TestRoom.Created();
        Assert.NotEmpty(room.Send($"<iq from='admin@localhost/x' to='{TestRoom.Room}' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
            .To("admin@localhost/x").Single().Descendants(Ns.DataForms + "field"));
        room.Admin(TestRoom.Owner, "affiliation='outcast' jid='admin@localhost'").HasError(TestRoom.Owner, "not-acceptable");
    }

    [Fact]
    public void Affiliation_lists_are_for_admins()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='member' jid='juliet@localhost' nick='Juliet'");
        room.Admin(TestRoom.Owner, "affiliation='member' jid='nurse@localhost'");
        var list = (string from) => room.Send($"<iq from='{from}' to='{TestRoom.Room}' type='get' id='l'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>");

        list(TestRoom.Owner).SingleMatching(TestRoom.Owner, $"""
            <iq type='result' id='l' from='{TestRoom.Room}'><query xmlns='http://jabber.org/protocol/muc#admin'>
              <item affiliation='member' jid='juliet@localhost' nick='Juliet'/><item affiliation='member' jid='nurse@localhost'/>
            </query></iq>
            """);
        list(Juliet).HasError(Juliet, "forbidden", "auth");
    }

    [Fact]
    public void Affiliation_changes_of_absent_users_are_told_to_moderators()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Admin(TestRoom.Owner, "affiliation='member' jid='nurse@localhost'");
        var toOwner = decision.To(TestRoom.Owner);
        Matches($"<message from='{TestRoom.Room}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='nurse@localhost'/></x></message>", toOwner[0]);
        Assert.Equal("result", toOwner[1].Attribute("type")?.Value);
        Assert.Empty(decision.To(Juliet));
    }

    [Fact]
    public void Becoming_members_only_removes_non_members_with_322()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Configure(("muc#roomconfig_membersonly", "1"));

        Assert.Equal(["322", "110"], decision.To(Juliet).Single().StatusCodes());
        var toOwner = decision.To(TestRoom.Owner);
        Assert.Equal(["322"], toOwner[0].StatusCodes());
        Assert.Equal("result", toOwner[1].Attribute("type")?.Value);
        Assert.Equal(["104"], toOwner[2].StatusCodes());
        room.Join(Juliet, "Juliet").HasError(Juliet, "registration-required", "auth");
    }

    [Fact]
    public void The_configuration_form_shows_the_current_settings_to_owners_only()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomname", "Garden"));
        var form = room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
            .To(TestRoom.Owner).Single().Descendants(Ns.DataForms + "field").ToDictionary(f => f.Attribute("var")!.Value, f => f.Element(Ns.DataForms + "value")?.Value);
        Assert.Equal("http://jabber.org/protocol/muc#roomconfig", form["FORM_TYPE"]);
        Assert.Equal("Garden", form["muc#roomconfig_roomname"]);
        Assert.Equal("0", form["muc#roomconfig_persistentroom"]);
        Assert.Equal("moderators", form["muc#roomconfig_whois"]);
        room.Join(Juliet, "Juliet");
        room.Send($"<iq from='{Juliet}' to='{TestRoom.Room}' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>").HasError(Juliet, "forbidden", "auth");
    }

    [Fact]
    public void A_form_of_the_wrong_type_is_refused()
    {
        var room = TestRoom.Created();
        room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field></x></query></iq>")
            .HasError(TestRoom.Owner, "bad-request");
    }

    [Fact]
    public void Destroying_tells_everyone_where_to_go_and_ends_the_room()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        room.Join(Juliet, "Juliet");
        var decision = room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='set' id='d'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='elsewhere@conference.localhost'><reason>Moving</reason></destroy></query></iq>");

        decision.SingleMatching(Juliet, $"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><destroy jid='elsewhere@conference.localhost'><reason>Moving</reason></destroy><item affiliation='none' role='none' jid='{Juliet}'/><status code='110'/></x></presence>");
        Assert.Equal("result", decision.To(TestRoom.Owner)[^1].Attribute("type")?.Value);
        var destroyed = Assert.IsType<RoomDestroyed>(decision.Events[^1]);
        Assert.Equal(("Moving", Jid.Parse("elsewhere@conference.localhost")), (destroyed.Reason, destroyed.AlternateVenue));
        Assert.NotNull(destroyed.TombstoneUntil);
        Assert.False(room.State.Exists);
        Assert.True(room.State.CanPassivate);
    }

    [Fact]
    public void Registering_reserves_the_nick_for_a_member()
    {
        var room = TestRoom.Created();
        room.Admin(TestRoom.Owner, "affiliation='member' jid='juliet@localhost'");
        var register = $"<iq from='{Juliet}' to='{TestRoom.Room}' type='set' id='r'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field><field var='muc#register_roomnick'><value>Juliet</value></field></x></query></iq>";
        room.Send(register).SingleMatching(Juliet, $"<iq type='result' id='r' from='{TestRoom.Room}'/>");

        room.Join("rosaline@localhost/a", "Juliet").HasError("rosaline@localhost/a", "conflict");
        room.Send($"<iq from='{Juliet}' to='{TestRoom.Room}' type='get' id='g'><query xmlns='jabber:iq:register'/></iq>")
            .SingleMatching(Juliet, $"<iq type='result' id='g'><query xmlns='jabber:iq:register'><registered/><username>Juliet</username></query></iq>");
        room.Send($"<iq from='rosaline@localhost/a' to='{TestRoom.Room}' type='get' id='g'><query xmlns='jabber:iq:register'/></iq>").HasError("rosaline@localhost/a", "registration-required", "auth");
    }

    [Fact]
    public void Private_iqs_are_forwarded_and_their_responses_routed_back()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var request = room.Send($"<iq from='{Juliet}' to='{TestRoom.Room}/Owner' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
        var forwarded = Assert.Single(request.To(TestRoom.Owner));
        Assert.Equal($"{TestRoom.Room}/Juliet", forwarded.Attribute("from")?.Value);
        Assert.DoesNotContain("juliet@localhost", forwarded.ToString()); // the target must not learn the asker's JID

        var response = room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}/Juliet' type='result' id='{forwarded.Attribute("id")!.Value}'><query xmlns='jabber:iq:version'><name>x</name></query></iq>");
        response.SingleMatching(Juliet, $"<iq type='result' id='v1' from='{TestRoom.Room}/Owner'><query xmlns='jabber:iq:version'><name>x</name></query></iq>");
        Assert.Empty(room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}/Juliet' type='result' id='forged'/>").Deliveries);
    }

    [Fact]
    public void Self_ping_is_answered_by_the_room()
    {
        var room = TestRoom.Created();
        room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}/Owner' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
            .SingleMatching(TestRoom.Owner, $"<iq type='result' id='p' from='{TestRoom.Room}/Owner'/>");
        room.Send($"<iq from='{Juliet}' to='{TestRoom.Room}/Owner' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>").HasError(Juliet, "not-acceptable");
    }

    [Fact]
    public void Room_disco_info_lists_the_features_and_room_info()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomname", "Garden"), ("muc#roomconfig_membersonly", "1"));
        var reply = room.Send($"<iq from='{TestRoom.Owner}' to='{TestRoom.Room}' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>").To(TestRoom.Owner).Single();
        var features = reply.Descendants(Ns.DiscoInfo + "feature").Select(f => f.Attribute("var")!.Value).ToList();
        Assert.Contains("http://jabber.org/protocol/muc", features);
        Assert.Contains("muc_membersonly", features);
        Assert.Contains("muc_temporary", features);
        Assert.Contains("muc_semianonymous", features);
        Assert.Equal("Garden", reply.Descendants(Ns.DiscoInfo + "identity").Single().Attribute("name")?.Value);
        Assert.Contains(reply.Descendants(Ns.DataForms + "value"), value => value.Value == "http://jabber.org/protocol/muc#roominfo");
    }

    [Fact]
    public void The_service_answers_disco_and_refuses_the_rest()
    {
        var options = new MucServiceOptions("conference.localhost", new HashSet<Jid>());
        RoomListing[] rooms = [new(Jid.Parse("a@conference.localhost"), "A", 2), new(Jid.Parse("b@conference.localhost"), "", 0)];
        XElement Ask(string payload, string type = "get") => Assert.Single(MucService.HandleServiceStanza(
            TestRoom.Stanza($"<iq from='romeo@localhost/a' to='conference.localhost' type='{type}' id='s'>{payload}</iq>"), rooms, options)).Stanza;

        Matches("<iq type='result' from='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text' name='Chatrooms'/><feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/><feature var='http://jabber.org/protocol/muc#unique'/><feature var='urn:xmpp:occupant-id:0'/></query></iq>",
            Ask("<query xmlns='http://jabber.org/protocol/disco#info'/>"));
        Matches("<iq type='result'><query xmlns='http://jabber.org/protocol/disco#items'><item jid='a@conference.localhost' name='A'/><item jid='b@conference.localhost'/></query></iq>",
            Ask("<query xmlns='http://jabber.org/protocol/disco#items'/>"));
        Assert.NotNull(Ask("<query xmlns='jabber:iq:version'/>").Element(Ns.Client + "error")?.Element(Ns.Stanzas + "service-unavailable"));
        Assert.Empty(MucService.HandleServiceStanza(TestRoom.Stanza("<presence from='romeo@localhost/a' to='conference.localhost'/>"), rooms, options));
    }

    [Theory]
    [InlineData("muc#roomconfig_historylength", "twenty")]
    [InlineData("muc#roomconfig_historylength", "-1")]
    [InlineData("muc#roomconfig_whois", "everybody")]
    [InlineData("muc#roomconfig_presencebroadcast", "moderators")]
    [InlineData("muc#roomconfig_persistentroom", "yes")]
    [InlineData("muc#roomconfig_moderatedroom", "2")]
    public void A_configuration_with_a_value_its_field_cannot_take_is_refused_as_not_acceptable_and_changes_nothing(string field, string value)
    {
        var room = TestRoom.Created();
        var before = room.State.Config;

        var decision = room.ConfigureMultiValued(("muc#roomconfig_roomname", ["Renamed"]), (field, [value]));

        decision.HasError(TestRoom.Owner, "not-acceptable", "modify");
        Assert.Empty(decision.Events);
        Assert.Equal(before, room.State.Config);
    }

    [Fact]
    public void An_unknown_presence_broadcast_role_beside_known_ones_does_not_turn_presence_off()
    {
        var room = TestRoom.Created();

        room.ConfigureMultiValued(("muc#roomconfig_presencebroadcast", ["moderator", "participant", "visitors"]))
            .HasError(TestRoom.Owner, "not-acceptable", "modify");
        Assert.Equal(PresenceBroadcastRoles.Default, room.State.Config.PresenceBroadcast);

        room.ConfigureMultiValued(("muc#roomconfig_presencebroadcast", ["moderator"]));
        Assert.Equal(PresenceBroadcastRoles.Moderator, room.State.Config.PresenceBroadcast);
        room.ConfigureMultiValued(("muc#roomconfig_presencebroadcast", []));
        Assert.Equal(PresenceBroadcastRoles.Nobody, room.State.Config.PresenceBroadcast);
    }
}
