using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A replica host's node is downed (an operator's <c>cluster down</c>, or it left): the room's link to it has nobody to
/// rejoin with, so the room lets that host's occupants go, and everyone else sees them leave (docs/protocol/netjoin.md §4).
/// </summary>
[Collection("netsplit")]
public sealed class HostGoneTests : AvalonKillrcClusterTests
{
    [Fact]
    public async Task The_occupants_of_a_host_whose_node_left_the_cluster_are_seen_to_leave()
    {
        var room = new ClusterRoom(Cluster, $"host-gone@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, Valdis]);
        await room.SettleAsync([Trillian, Wumpus, Valdis]);

        Akka.Cluster.Cluster.Get(Cluster.Primary.System).Down(Cluster.Node(Killrc).Address);

        foreach (var gone in new[] { Wumpus, Valdis })
            await Cluster.WaitForAsync(Trillian.Jid, Received.PresenceOf(room.Jid, gone.Nick, available: false), TimeSpan.FromSeconds(20));
        Assert.Equal([Trillian.Nick], room.RosterSeenBy(Trillian));
        Assert.Equal(1, (await Cluster.InspectRoomAsync(room.Jid)).Occupants);
    }
}
