using Dmuc.Xmpp;
using static Dmuc.Rooms.Tests.DecisionAssertions;

namespace Dmuc.Rooms.Tests;

public sealed class OccupantTests
{
    private const string Juliet = "juliet@localhost/balcony";

    [Fact]
    public void Creating_a_room_makes_the_creator_owner_with_status_201_and_locks_the_room()
    {
        var room = new TestRoom();
        var decision = room.Join(TestRoom.Owner, "Owner");

        Assert.IsType<RoomCreated>(decision.Events[0]);
        var toOwner = decision.To(TestRoom.Owner);
        Assert.Equal(2, toOwner.Count);
        Matches($"""
            <presence from='{TestRoom.Room}/Owner'>
              <x xmlns='http://jabber.org/protocol/muc#user'><status code='201'/><item affiliation='owner' role='moderator' jid='{TestRoom.Owner}'/><status code='110'/></x>
            </presence>
            """, toOwner[0]);
        Matches($"<message from='{TestRoom.Room}' type='groupchat'><subject/></message>", toOwner[1]);
        room.Join(Juliet, "Juliet").HasError(Juliet, "item-not-found", "cancel");
    }

    [Fact]
    public void A_locked_room_unlocks_by_itself_after_the_timeout()
    {
        var room = new TestRoom();
        room.Join(TestRoom.Owner, "Owner");
        room.Now += room.Options.RoomLockTimeout;
        Assert.Contains(room.Join(Juliet, "Juliet").To(Juliet), stanza => stanza.StatusCodes().Contains("110"));
    }

    [Fact]
    public void Entering_sends_the_others_then_self_then_history_then_subject()
    {
        var room = TestRoom.Created();
        room.Say(TestRoom.Owner, "before you came");
        var decision = room.Join(Juliet, "Juliet");

        var toJuliet = decision.To(Juliet);
        Assert.Equal(4, toJuliet.Count);
        Matches($"<presence from='{TestRoom.Room}/Owner'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/></x></presence>", toJuliet[0]);
        Matches($"<presence from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='{Juliet}'/><status code='110'/></x></presence>", toJuliet[1]);
        Matches($"<message from='{TestRoom.Room}/Owner' type='groupchat'><body>before you came</body><delay xmlns='urn:xmpp:delay' from='{TestRoom.Room}' stamp='{{scansion:any}}'/></message>", toJuliet[2]);
        Matches($"<message from='{TestRoom.Room}' type='groupchat'><subject/></message>", toJuliet[3]);
        decision.SingleMatching(TestRoom.Owner, $"<presence from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='{Juliet}'/></x></presence>");
    }

    [Fact]
    public void Non_anonymous_rooms_show_everyone_the_jids_and_say_so_with_status_100()
    {
        var room = TestRoom.Created(("muc#roomconfig_whois", "anyone"));
        var decision = room.Join(Juliet, "Juliet");

        Assert.Equal(["100", "110"], decision.To(Juliet)[1].StatusCodes());
        room.Join("nurse@localhost/a", "Nurse").To("nurse@localhost/a").Take(2).ToList()
            .ForEach(presence => Assert.NotNull(presence.MucUser()!.Element(Ns.MucUser + "item")!.Attribute("jid")));
    }

    [Fact]
    public void A_nick_taken_by_someone_else_is_a_conflict()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Join("rosaline@localhost/a", "Juliet").HasError("rosaline@localhost/a", "conflict", "cancel");
    }

    [Fact]
    public void Sessions_of_one_user_share_a_nick_and_leave_it_one_by_one()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var second = room.Join("juliet@localhost/garden", "Juliet");
        Assert.Equal(2, room.State.OccupantCount);
        Assert.Contains(second.To("juliet@localhost/garden"), stanza => stanza.StatusCodes().Contains("110"));

        var firstLeaves = room.Leave(Juliet, "Juliet");
        Assert.Equal(2, room.State.OccupantCount);
        Assert.Equal("unavailable", Assert.Single(firstLeaves.To(Juliet)).Attribute("type")?.Value);
        Assert.All(firstLeaves.To(TestRoom.Owner), presence => Assert.Null(presence.Attribute("type")));

        var lastLeaves = room.Leave("juliet@localhost/garden", "Juliet");
        Assert.Equal(1, room.State.OccupantCount);
        lastLeaves.SingleMatching(TestRoom.Owner, $"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none' jid='juliet@localhost/garden'/></x></presence>");
    }

    [Fact]
    public void A_temporary_room_ends_with_its_last_occupant_and_can_be_created_again()
    {
        var room = TestRoom.Created();
        var decision = room.Leave(TestRoom.Owner, "Owner");

        Assert.IsType<RoomDestroyed>(decision.Events[^1]);
        Assert.False(room.State.Exists);
        Assert.True(room.State.CanPassivate);
        Assert.Contains(room.Join(Juliet, "Juliet").To(Juliet)[0].StatusCodes(), code => code == "201");
    }

    [Fact]
    public void A_persistent_room_stays_when_empty()
    {
        var room = TestRoom.Created(("muc#roomconfig_persistentroom", "1"));
        room.Leave(TestRoom.Owner, "Owner");
        Assert.True(room.State.Exists);
        Assert.True(room.State.CanPassivate);
    }

    [Fact]
    public void Changing_nick_announces_303_and_keeps_the_role()
    {
        var room = TestRoom.Created(("muc#roomconfig_moderatedroom", "1"));
        room.Join(Juliet, "Juliet");
        var decision = room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Jules'/>");

        var toJuliet = decision.To(Juliet);
        Matches($"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><status code='303'/><item nick='Jules' jid='{Juliet}' affiliation='none' role='visitor'/><status code='110'/></x></presence>", toJuliet[0]);
        Matches($"<presence from='{TestRoom.Room}/Jules'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='{Juliet}' affiliation='none' role='visitor'/><status code='110'/></x></presence>", toJuliet[1]);
        Assert.Equal(2, decision.To(TestRoom.Owner).Count);
    }

    [Theory]
    [InlineData("🤖", "jid-malformed")]
    [InlineData("   ", "not-allowed")]
    [InlineData("private\uE000use", "jid-malformed")]
    public void Bad_nicks_are_refused(string nick, string condition)
    {
        TestRoom.Created().Join(Juliet, nick).HasError(Juliet, condition, "modify");
    }

    [Fact]
    public void Too_long_nicks_are_refused()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, new string('j', room.Options.MaxNickLength + 1)).HasError(Juliet, "jid-malformed");
    }

    [Fact]
    public void A_password_protected_room_wants_the_password()
    {
        var room = TestRoom.Created(("muc#roomconfig_roomsecret", "cauldronburn"));
        room.Join(Juliet, "Juliet").HasError(Juliet, "not-authorized", "auth");
        room.Join(Juliet, "Juliet", "<password>wrong</password>").HasError(Juliet, "not-authorized", "auth");
        Assert.Equal(3, room.Join(Juliet, "Juliet", "<password>cauldronburn</password>").To(Juliet).Count);
    }

    [Fact]
    public void Presence_from_a_forgotten_occupant_without_the_muc_payload_asks_it_to_rejoin()
    {
        var room = TestRoom.Created();
        room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Juliet'><show>dnd</show></presence>").HasError(Juliet, "item-not-found");
    }

    [Fact]
    public void A_probe_answers_with_the_occupant_as_the_prober_may_see_it()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Owner' type='probe'/>")
            .SingleMatching(Juliet, $"<presence from='{TestRoom.Room}/Owner'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/></x></presence>");
        room.Send($"<presence from='nurse@localhost/a' to='{TestRoom.Room}/Owner' type='probe'/>").HasError("nurse@localhost/a", "not-acceptable", "cancel");
    }

    [Fact]
    public void A_session_bouncing_errors_is_removed_with_status_333()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Send($"<presence from='{Juliet}' to='{TestRoom.Room}/Owner' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>");

        Assert.Equal(1, room.State.OccupantCount);
        Assert.Contains("333", Assert.Single(decision.To(TestRoom.Owner)).StatusCodes());
    }

    [Fact]
    public void Shutting_down_tells_each_occupant_332_and_ends_a_temporary_room()
    {
        var room = TestRoom.Created();
        room.Join(Juliet, "Juliet");
        var decision = room.Run(new ShutDownRoom(room.Now));

        decision.SingleMatching(Juliet, $"<presence type='unavailable' from='{TestRoom.Room}/Juliet'><x xmlns='http://jabber.org/protocol/muc#user'><status code='332'/><item affiliation='none' role='none' jid='{Juliet}'/><status code='110'/></x></presence>");
        Assert.Single(decision.To(TestRoom.Owner));
        Assert.False(room.State.Exists);
    }
}
