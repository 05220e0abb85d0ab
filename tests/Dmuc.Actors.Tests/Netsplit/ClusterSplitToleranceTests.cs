using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// Akka.Cluster and the application agree on a netsplit (docs/protocol/netjoin.md §4): with the production split
/// tolerance (<see cref="ReplicationHosting.SplitToleranceHocon"/>), a replica node cut off for longer than the
/// default split brain resolver's stable-after (20 s) stays an Up member, keeps serving its users, never gets a
/// room of its own, and comes back reachable with a netjoin.
/// </summary>
[Collection("netsplit")]
public sealed class ClusterSplitToleranceTests : AvalonKillrcClusterTests
{
    /// <summary>Akka.NET 1.5's default downing (keep-majority) acts this long after the unreachability is stable.</summary>
    private static readonly TimeSpan DefaultSbrStableAfter = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan LocalAnswer = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_replica_node_cut_off_past_the_default_downing_delay_is_not_downed_and_rejoins_with_a_netjoin()
    {
        var room = new ClusterRoom(Cluster, $"tolerance@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus, Valdis]);
        await room.SettleAsync([Trillian, Wumpus, Valdis]);
        var primary = Akka.Cluster.Cluster.Get(Cluster.Node(Avalon).System);
        var killrcAddress = Cluster.Node(Killrc).Address;

        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Eventually.HoldsAsync(() => primary.State.Unreachable.Any(member => member.Address == killrcAddress),
            "the primary's failure detector to find killrc unreachable", TimeSpan.FromSeconds(15));
        await Netsplit.WaitForReplicaStateAsync(room.Jid, Killrc, LinkState.Split);
        var unreachableSince = DateTime.UtcNow;

        // Served by the split replica itself, at once.
        Cluster.SendFromUser(Leave(Valdis, room.Jid));
        await Cluster.WaitForAsync(Valdis.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), LocalAnswer);
        await Cluster.WaitForAsync(Wumpus.Jid, Received.PresenceOf(room.Jid, Valdis.Nick, available: false), LocalAnswer);

        await Task.Delay(DefaultSbrStableAfter + TimeSpan.FromSeconds(3) - (DateTime.UtcNow - unreachableSince));
        var killrcSeenByPrimary = primary.State.Members.Single(member => member.Address == killrcAddress);
        Assert.Equal(MemberStatus.Up, killrcSeenByPrimary.Status);
        Assert.Contains(primary.State.Unreachable, member => member.Address == killrcAddress);
        Assert.Equal(MemberStatus.Up, Akka.Cluster.Cluster.Get(Cluster.Node(Killrc).System).SelfMember.Status);
        Assert.Equal(killrcAddress, Cluster.Node(Avalon).ClusterHosts.Hosts[Killrc]);
        // Primaries are fixed by role: the replica node has its replica of the room and no room actor of its own.
        Assert.Equal(Cluster.Node(Avalon).Address, Cluster.Node(Killrc).ClusterHosts.PrimaryNode);
        await Assert.ThrowsAsync<ActorNotFoundException>(() => Cluster.Node(Killrc).System
            .ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(room.Jid)}").ResolveOne(TimeSpan.FromSeconds(1)));
        Assert.Equal(LinkState.Split, (await Cluster.InspectReplicaAsync(room.Jid, Killrc)).State);

        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Eventually.HoldsAsync(() => primary.State.Unreachable.Count == 0, "killrc to be reachable again", TimeSpan.FromSeconds(15));
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc);
        await room.SettleAsync([Trillian, Wumpus]);

        Assert.Equal(MemberStatus.Up, primary.State.Members.Single(member => member.Address == killrcAddress).Status);
        Assert.Single(Cluster.ReceivedBy(Trillian.Jid), Received.PresenceOf(room.Jid, Valdis.Nick, available: false).Invoke);
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Trillian));
        Assert.Equal([Trillian.Nick, Wumpus.Nick], room.RosterSeenBy(Wumpus));
    }
}
