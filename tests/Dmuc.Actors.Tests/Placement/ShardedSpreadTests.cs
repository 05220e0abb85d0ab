using Akka.Actor;
using Akka.Cluster.Sharding;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>Issue 13's spread target: 1,000 rooms over two primary-capable nodes land within ±10 % of even.</summary>
public sealed class ShardedSpreadTests(ITestOutputHelper output)
{
    private const int Rooms = 1000;

    [Fact]
    public async Task A_thousand_rooms_spread_over_two_primary_nodes_within_ten_per_cent_of_even()
    {
        await using var cluster = await ShardedCluster.StartAsync();
        var region = ClusterSharding.Get(cluster.Primaries[0].System).ShardRegion(RoomShards.TypeName);
        // As in a deployment, both nodes' regions are known to the coordinator before rooms come.
        await Eventually.HoldsAsync(async () => (await region.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(5))).Regions.Count == 2,
            "both regions registered", TimeSpan.FromSeconds(30));
        for (var i = 0; i < Rooms; i++) region.Tell(new ShardRegion.StartEntity($"room-{i:D4}@{Replication.Wallops.Service}"), Akka.Actor.ActorRefs.NoSender);

        var perNode = new int[cluster.Primaries.Count];
        await Eventually.HoldsAsync(async () =>
        {
            for (var node = 0; node < perNode.Length; node++)
                perNode[node] = (await RoomShards.RoomsHere(ClusterSharding.Get(cluster.Primaries[node].System).ShardRegion(RoomShards.TypeName))).Count;
            return perNode.Sum() == Rooms;
        }, $"all {Rooms} rooms started", TimeSpan.FromSeconds(60));

        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(10));
        output.WriteLine($"rooms per node: {string.Join(", ", perNode)}; shards per node: {string.Join(", ", stats.Regions.Values.Select(r => r.Stats.Count))}");
        Assert.All(perNode, count => Assert.InRange(count, Rooms / 2 * 0.9, Rooms / 2 * 1.1));
    }
}
