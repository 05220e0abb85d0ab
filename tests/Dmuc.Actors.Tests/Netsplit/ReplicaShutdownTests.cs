using Akka.Actor;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>A replica node that stops tells its users once (332), and the rest of the room sees them leave.</summary>
[Collection("netsplit")]
public sealed class ReplicaShutdownTests : AvalonKillrcClusterTests
{
    [Fact]
    public async Task A_stopping_replica_tells_each_local_occupant_once_and_the_room_sees_them_leave()
    {
        var room = new ClusterRoom(Cluster, $"replica-stop@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, Valdis]);
        await room.SettleAsync([Trillian, Wumpus, Valdis]);

        await Cluster.Node(Killrc).System.ActorSelection($"/user/{ReplicaDirectory.Name}")
            .Ask<RoomsShutDown>(ShutDownRooms.Instance, TimeSpan.FromSeconds(10));

        foreach (var gone in new[] { Wumpus, Valdis })
            await Cluster.WaitForAsync(Trillian.Jid, Received.PresenceOf(room.Jid, gone.Nick, available: false));
        // Trillian still talks: the room's batches to killrc after the departures deliver nothing there.
        Cluster.SendFromUser(Say(Trillian, room.Jid, "after killrc stopped", id: "after"));
        await Cluster.WaitForAsync(Trillian.Jid, Received.GroupchatBody("after killrc stopped"));
        await Task.Delay(500);
        foreach (var user in new[] { Wumpus, Valdis })
        {
            var own = Assert.Single(Cluster.ReceivedBy(user.Jid), Received.PresenceOf(room.Jid, user.Nick, available: false).Invoke);
            Assert.True(own.HasStatus(332));
            Assert.DoesNotContain(Cluster.ReceivedBy(user.Jid), Received.GroupchatBody("after killrc stopped").Invoke);
        }
    }
}
