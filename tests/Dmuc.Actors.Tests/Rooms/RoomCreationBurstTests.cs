using Dmuc.Actors.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>The bound on room creations under way at once (<see cref="RoomCreationBurst{T}"/>), pure.</summary>
public sealed class RoomCreationBurstTests
{
    private static Jid Room(int number) => Jid.Parse($"room{number}@conference.localhost");

    [Fact]
    public void Creations_beyond_the_bound_wait_with_what_follows_them_and_go_on_in_order_as_earlier_ones_settle()
    {
        var burst = new RoomCreationBurst<string>(mostUnderWay: 2, mostWaiting: 10);
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(1), "create 1", createsRoom: true));
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(2), "create 2", createsRoom: true));
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(1), "configure 1", createsRoom: false));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(3), "create 3", createsRoom: true));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(4), "create 4", createsRoom: true));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(3), "configure 3", createsRoom: false));
        // A room that exists, or whose creation is under way, is not held back.
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(9), "message 9", createsRoom: false));
        Assert.Equal((2, 3), (burst.UnderWay, burst.Waiting));

        Assert.Empty(burst.Settled(Room(9)));
        Assert.Equal([(Room(3), "create 3"), (Room(3), "configure 3")], burst.Settled(Room(1)));
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(3), "configure 3 again", createsRoom: false));
        Assert.Equal([(Room(4), "create 4")], burst.Settled(Room(2)));
        Assert.Empty(burst.Settled(Room(2)));
        Assert.Equal((2, 0), (burst.UnderWay, burst.Waiting));
    }

    [Fact]
    public void Past_the_most_stanzas_that_may_wait_each_is_refused_and_nothing_more_is_kept()
    {
        var burst = new RoomCreationBurst<string>(mostUnderWay: 1, mostWaiting: 2);
        Assert.Equal(CreationAdmission.Pass, burst.Admit(Room(1), "create 1", createsRoom: true));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(2), "create 2", createsRoom: true));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(2), "configure 2", createsRoom: false));
        Assert.Equal(CreationAdmission.Refused, burst.Admit(Room(2), "message 2", createsRoom: false));
        Assert.Equal(CreationAdmission.Refused, burst.Admit(Room(3), "create 3", createsRoom: true));
        Assert.Equal(2, burst.Waiting);

        Assert.Equal([(Room(2), "create 2"), (Room(2), "configure 2")], burst.Settled(Room(1)));
        Assert.Equal(CreationAdmission.Held, burst.Admit(Room(3), "create 3", createsRoom: true));
    }
}
