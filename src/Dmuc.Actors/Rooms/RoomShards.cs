using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// Rooms as Akka.Cluster.Sharding entities (<see cref="RoomPlacement.Sharded"/>): entity id = the room's bare JID, shard =
/// a stable hash of it modulo <see cref="ShardCount"/>, regions on the nodes with the primary role only. Many more shards
/// than nodes, so that the coordinator's least-shards allocation (which evens out shards, not rooms) spreads rooms evenly:
/// with 100 shards, 1,000 rooms named room-0000…room-0999 split 560/440 over two nodes, with 200 within 3.6 % for every
/// naming measured (docs/benchmarks.md, "Rooms over several primary nodes").
/// </summary>
/// <param name="Nodes">Each room's node (its shard's region).</param>
/// <param name="Here">The rooms in memory on the asking node.</param>
public sealed record RoomPlacementView(IReadOnlyDictionary<Jid, Address> Nodes, IReadOnlyList<Jid> Here);

public sealed class RoomShards() : HashCodeMessageExtractor(ShardCount)
{
    public const string TypeName = "room";
    public const int ShardCount = 200;

    /// <summary>
    /// Remember-entities in the shared journal: a shard that moves (its node downed, or leaving) starts at once, on its new
    /// node, every room that was in memory and had not passivated, which are the rooms with occupants (a room passivates only
    /// when empty). The coordinator's state is in the journal too, so it needs no durable distributed data. Idle rooms
    /// passivate themselves (<see cref="PassivateRoom"/>), never by sharding's own idle timer.
    /// </summary>
    public static readonly string Hocon = $$"""
        akka.cluster.sharding {
          role = "{{ClusterHosts.PrimaryRole}}"
          remember-entities = on
          remember-entities-store = eventsourced
          state-store-mode = persistence
          passivate-idle-entity-after = off
          # A failover should not wait out the defaults' pauses (5 s and 2 s) on top of detection and downing.
          coordinator-failure-backoff = 1s
          retry-interval = 500ms
          entity-restart-backoff = 1s
          # Also the bound on a remember-entities write: one that takes longer (a busy journal) makes the shard give up on it
          # and drop its late answer, holding back the rooms it was starting (1,000 rooms started at once on a loaded
          # machine hit the default 5 s).
          updating-state-timeout = 30s
        }
        akka.actor {
          serializers.dmuc-sharded-room = "{{Named(typeof(ShardedRoomSerializer))}}"
          serialization-bindings {
        {{string.Join("\n", ShardedRoomSerializer.Messages.Select(type => $"    \"{Named(type)}\" = dmuc-sharded-room"))}}
          }
        }
        """;

    private static string Named(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <summary>Rooms are only sent <see cref="ShardingEnvelope"/>s and <c>StartEntity</c>, which Akka unwraps itself.</summary>
    public override string? EntityId(object message) => null;

    /// <summary>Starts this node's region of rooms; each room reports to <paramref name="directory"/>, its node's directory.</summary>
    public static IActorRef StartRegion(ActorSystem system, IActorRef directory, MucServiceOptions options, IStanzaSink sink,
        ClusterHosts hosts, RoomActorSettings settings)
    {
        var sharding = ClusterSharding.Get(system);
        var shardingSettings = ClusterShardingSettings.Create(system);
        return sharding.Start(TypeName,
            room => RoomActor.Props(Jid.Parse(room), options, sink, hosts, settings, directory, RoomPlacement.Sharded),
            shardingSettings, new RoomShards(), sharding.DefaultShardAllocationStrategy(shardingSettings), PassivateRoom.Instance);
    }

    /// <summary>
    /// The room index as a cluster singleton of the primary-capable nodes, started under <paramref name="directory"/> on each
    /// of them: the index stream has one writer, whichever node holds it, and its supervisor starts it again after a journal
    /// failure. Returns the proxy that reaches it.
    /// </summary>
    public static IActorRef StartIndex(IActorContext directory, Jid service)
    {
        const string manager = "index-singleton";
        var system = directory.System;
        directory.ActorOf(ClusterSingletonManager.Props(RoomIndexSupervisor.Props(service), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole(ClusterHosts.PrimaryRole)), manager);
        return directory.ActorOf(ClusterSingletonProxy.Props(directory.Self.Path.ToStringWithoutAddress() + "/" + manager,
            ClusterSingletonProxySettings.Create(system).WithRole(ClusterHosts.PrimaryRole)), "index");
    }

    /// <summary>The shard a room belongs to.</summary>
    public static string ShardOf(Jid room) => new RoomShards().ShardId(room.ToString(), null);

    /// <summary>Where sharding placed each of <paramref name="rooms"/> (by its shard), and which of them are in memory here.</summary>
    public static async Task<RoomPlacementView> PlacementOf(IActorRef region, IReadOnlyList<Jid> rooms)
    {
        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(5));
        var shardNodes = stats.Regions.SelectMany(node => node.Value.Stats.Keys.Select(shard => (shard, node.Key)))
            .ToDictionary(placed => placed.shard, placed => placed.Key);
        var here = (await RoomsHere(region)).ToHashSet();
        var nodes = rooms.Where(room => shardNodes.ContainsKey(ShardOf(room))).ToDictionary(room => room, room => shardNodes[ShardOf(room)]);
        return new RoomPlacementView(nodes, rooms.Where(here.Contains).ToList());
    }

    /// <summary>The rooms the region holds on its own node now.</summary>
    public static async Task<IReadOnlyList<Jid>> RoomsHere(IActorRef region)
    {
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.SelectMany(shard => shard.EntityIds).Select(Jid.Parse).ToList();
    }
}
