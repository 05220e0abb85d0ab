using Dmuc.Xmpp;

namespace Dmuc.Rooms.Tests;

/// <summary>How many rooms a user may have created, and how fast: 3 at most, 2 at once then 1 a minute.</summary>
public sealed class RoomCreationQuotaTests
{
    private static readonly Jid Romeo = Jid.Parse("romeo@localhost/phone");
    private static readonly Jid Admin = Jid.Parse("admin@localhost/desk");
    private static readonly DateTimeOffset Noon = new(2024, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly RoomCreationQuota _quota = new(new MucServiceOptions("conference.localhost", new HashSet<Jid> { Admin.Bare })
    {
        RoomsPerCreator = 3,
        RoomCreationRate = RateLimit.PerMinute(1, burst: 2),
    });

    private static Jid Room(int number) => Jid.Parse($"room{number}@conference.localhost");

    [Fact]
    public void Beyond_the_burst_a_creation_must_wait_for_the_rate_to_allow_it()
    {
        Assert.Null(_quota.Reserve(Romeo, Room(1), Noon));
        Assert.Null(_quota.Reserve(Romeo, Room(2), Noon));

        var denied = _quota.Reserve(Romeo, Room(3), Noon.AddSeconds(30));

        Assert.Equal("wait", denied?.Type);
        Assert.Null(_quota.Reserve(Romeo, Room(3), Noon.AddSeconds(60)));
    }

    [Fact]
    public void Beyond_the_count_a_creation_is_refused_until_one_of_the_users_rooms_is_gone()
    {
        for (var room = 1; room <= 3; room++) Assert.Null(_quota.Reserve(Romeo, Room(room), Noon.AddMinutes(room)));

        Assert.Equal("cancel", _quota.Reserve(Romeo, Room(4), Noon.AddHours(1))?.Type);
        _quota.Gone(Room(2));
        Assert.Null(_quota.Reserve(Romeo, Room(4), Noon.AddHours(1)));
        Assert.Equal(3, _quota.RoomsCreatedBy(Romeo));
    }

    [Fact]
    public void A_reservation_that_created_no_room_costs_nothing()
    {
        Assert.Null(_quota.Reserve(Romeo, Room(1), Noon));
        Assert.Null(_quota.Reserve(Romeo, Room(2), Noon));
        _quota.Settled(Room(1), created: true);

        _quota.Settled(Room(2), created: false);

        Assert.False(_quota.IsCounted(Room(2)));
        Assert.Equal(1, _quota.RoomsCreatedBy(Romeo));
        Assert.Null(_quota.Reserve(Romeo, Room(3), Noon));
    }

    [Fact]
    public void Service_admins_are_counted_but_never_refused()
    {
        for (var room = 1; room <= 5; room++) Assert.Null(_quota.Reserve(Admin, Room(room), Noon));

        Assert.Equal(5, _quota.RoomsCreatedBy(Admin));
        Assert.Null(_quota.Reserve(Romeo, Room(6), Noon));
    }

    [Fact]
    public void A_room_told_its_creator_is_over_the_quota_answers_the_creating_presence_with_policy_violation_and_stays_missing()
    {
        var room = new TestRoom();
        var presence = TestRoom.Stanza($"<presence from='{Romeo}' to='{TestRoom.Room}/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>");

        var decision = room.Run(new HandleStanza(presence, room.Now, CreationDenied: new RoomCreationDenied("wait", "too fast")));

        decision.HasError(Romeo.ToString(), "policy-violation", "wait");
        Assert.Empty(decision.Events);
        Assert.False(room.State.Exists);
    }
}
