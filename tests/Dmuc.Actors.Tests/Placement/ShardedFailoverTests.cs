using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Xunit;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Replication.RoomRequests;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>
/// Rooms sharded over two primary-capable nodes (docs/architecture.md, "Rooms sharded over several primary nodes"): the
/// node holding a busy room is killed, and the room comes back on the other from the shared journal, with its replica's
/// users still in it and nothing it acknowledged lost.
/// </summary>
public sealed class ShardedFailoverTests(ITestOutputHelper output)
{
    private const string Room = Wallops.Room;
    private static readonly TimeSpan Delivery = TimeSpan.FromSeconds(20);
    // Detection (~3.5 s at the test's 500 ms heartbeat), stable-after 1 s, removal, the lease and the replica's netjoin.
    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task The_room_of_a_killed_primary_comes_back_on_the_other_with_its_replica_users_and_its_history()
    {
        await using var cluster = await ShardedCluster.StartAsync();
        await OpenRoomWithReplicaUsersAsync(cluster, "before the crash");

        var victim = await cluster.NodeHoldingAsync(Room) ?? throw new InvalidOperationException("no primary holds the room");
        var survivor = cluster.Primaries.Single(node => node != victim);
        var clock = Stopwatch.StartNew();
        await cluster.KillAsync(victim);
        cluster.SendFromUser(Say(Wallops.Wumpus, Room, "after the crash", "m2"));
        await cluster.WaitForAsync(Wallops.Valdis.Jid, Received.GroupchatBody("after the crash"), Failover);
        output.WriteLine($"kill to first delivery through the replica: {clock.Elapsed.TotalSeconds:F1} s");

        Assert.Equal(survivor, await cluster.NodeHoldingAsync(Room));
        // Downed by the survivor (it holds the lease), and removed.
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(survivor.System).State.Members, member => member.Address == victim.Address && member.Status == MemberStatus.Up);
        // The replica's users never left: no unavailable presence of either reached them.
        Assert.DoesNotContain(cluster.Replica.Sink.To(Wallops.Valdis.Jid), stanza =>
            stanza.Name.LocalName == "presence" && stanza.Attribute("type")?.Value == "unavailable");
        Assert.Single(cluster.Replica.Sink.To(Wallops.Valdis.Jid), stanza => stanza.IsGroupchatWithBody("after the crash"));
        // A newcomer gets both messages as history from the room on its new node: nothing acknowledged was lost.
        cluster.SendFromUser(Enter(Wallops.Phaedrus, Room));
        await cluster.WaitForAsync(Wallops.Phaedrus.Jid, Received.OwnPresence(Room, Wallops.Phaedrus.Nick), Delivery);
        var history = cluster.Replica.Sink.To(Wallops.Phaedrus.Jid).Select(stanza => stanza.Element(Ns.Client + "body")?.Value).OfType<string>().ToList();
        Assert.Equal(["before the crash", "after the crash"], history);
    }

    [Fact]
    public async Task A_primary_that_leaves_hands_its_room_to_the_other_and_nobody_leaves_the_room()
    {
        await using var cluster = await ShardedCluster.StartAsync();
        await OpenRoomWithReplicaUsersAsync(cluster, "before the drain");
        var leaving = await cluster.NodeHoldingAsync(Room) ?? throw new InvalidOperationException("no primary holds the room");
        var staying = cluster.Primaries.Single(node => node != leaving);

        // The node's stop task asks its directory first: with another primary in the cluster, no room tells its occupants 332.
        Assert.Equal(0, (await leaving.Router.Ask<RoomsShutDown>(ShutDownRooms.Instance, Delivery)).Rooms);
        await cluster.LeaveAsync(leaving);
        cluster.SendFromUser(Say(Wallops.Wumpus, Room, "after the drain", "m2"));
        await cluster.WaitForAsync(Wallops.Valdis.Jid, Received.GroupchatBody("after the drain"), Failover);

        Assert.Equal(staying, await cluster.NodeHoldingAsync(Room));
        Assert.DoesNotContain(cluster.Replica.Sink.To(Wallops.Valdis.Jid), stanza =>
            stanza.Name.LocalName == "presence" && stanza.Attribute("type")?.Value == "unavailable");
        Assert.Single(cluster.Replica.Sink.To(Wallops.Valdis.Jid), stanza => stanza.IsGroupchatWithBody("after the drain"));
    }

    /// <summary>Trillian (avalon) creates the room, Wumpus and Valdis (killrc) enter, and Wumpus says <paramref name="body"/>.</summary>
    private static async Task OpenRoomWithReplicaUsersAsync(ShardedCluster cluster, string body)
    {
        var owner = Wallops.Trillian;
        cluster.SendFromUser(Enter(owner, Room));
        await cluster.WaitForAsync(owner.Jid, Received.OwnPresence(Room, owner.Nick), Delivery);
        cluster.SendFromUser(AcceptDefaultConfiguration(owner, Room));
        await cluster.WaitForAsync(owner.Jid, Received.IqReply("create", Room), Delivery);
        foreach (var user in new[] { Wallops.Wumpus, Wallops.Valdis })
        {
            cluster.SendFromUser(Enter(user, Room));
            await cluster.WaitForAsync(user.Jid, Received.OwnPresence(Room, user.Nick), Delivery);
        }
        cluster.SendFromUser(Say(Wallops.Wumpus, Room, body, "m1"));
        // Delivered means journaled: the room sends only what its journal has.
        await cluster.WaitForAsync(Wallops.Valdis.Jid, Received.GroupchatBody(body), Delivery);
    }
}
