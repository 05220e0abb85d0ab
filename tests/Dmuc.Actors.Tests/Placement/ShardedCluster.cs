using System.Xml.Linq;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Dmuc.Actors.Placement;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Placement;

/// <summary>
/// Two primary-capable nodes of avalon.irc with rooms sharded over them in one shared journal, and the replica node of
/// killrc: actor systems in one process, wired as <see cref="DmucTestCluster"/> wires a node, that stop as in a crash.
/// </summary>
public sealed class ShardedCluster : IAsyncDisposable
{
    private static readonly TimeSpan FormationTimeout = TimeSpan.FromSeconds(30);
    private static readonly RoomActorSettings NeverIdle = new(SnapshotEvery: int.MaxValue, IdleTimeout: TimeSpan.FromHours(1));

    private static readonly Config Settings = ConfigurationFactory.ParseString(RoomShards.Hocon)
        .WithFallback(ConfigurationFactory.ParseString(PrimaryDowning.Hocon))
        .WithFallback(DmucTestNode.CrashOnStop);

    private readonly TempJournal _journal;
    private readonly List<DmucTestNode> _killed = [];

    private ShardedCluster(TempJournal journal, IReadOnlyList<DmucTestNode> primaries, DmucTestNode replica)
    {
        _journal = journal;
        Primaries = primaries;
        Replica = replica;
    }

    public IReadOnlyList<DmucTestNode> Primaries { get; }
    public DmucTestNode Replica { get; }
    public IEnumerable<DmucTestNode> LivePrimaries => Primaries.Except(_killed);
    public TempJournal Journal => _journal;

    public static async Task<ShardedCluster> StartAsync()
    {
        var journal = new TempJournal();
        var specs = new[] { new DmucNodeSpec(Wallops.Avalon, IsPrimary: true), new DmucNodeSpec(Wallops.Avalon, IsPrimary: true), new DmucNodeSpec(Wallops.Killrc) };
        var nodes = await Task.WhenAll(specs.Select(spec => Task.Run(() => DmucTestNode.Start(spec, DmucTestCluster.ServiceOptions, NeverIdle,
            Settings, journal: spec.IsPrimary ? journal : null, placement: RoomPlacement.Sharded))));
        var cluster = new ShardedCluster(journal, nodes.Where(node => node.IsPrimary).ToList(), nodes.Single(node => !node.IsPrimary));
        try
        {
            foreach (var node in nodes) Akka.Cluster.Cluster.Get(node.System).Join(nodes[0].Address);
            await Eventually.HoldsAsync(() => nodes.All(node => node.ClusterHosts.Hosts.ContainsKey(Wallops.Killrc)
                                                                && cluster.Primaries.All(primary => node.ClusterHosts.IsPrimaryNode(primary.Address))),
                "every node sees both primaries and the replica", FormationTimeout);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Hands a user's stanza to a node serving the user's host, as its component stream would: killrc's replica, or for
    /// avalon the first primary that is still alive (any primary's directory routes to the room's node).
    /// </summary>
    public void SendFromUser(XElement stanza)
    {
        var from = Jid.Parse(stanza.Attribute("from")!.Value);
        var node = from.Domain == Wallops.Killrc ? Replica : LivePrimaries.First();
        node.Router.Tell(new RouteStanza(stanza));
    }

    /// <summary>The first stanza, past or future, delivered to the user by any node serving the user's host.</summary>
    public async Task<XElement> WaitForAsync(string userJid, Func<XElement, bool> matches, TimeSpan timeout)
    {
        var nodes = Jid.Parse(userJid).Domain == Wallops.Killrc ? [Replica] : Primaries;
        return await await Task.WhenAny(nodes.Select(node => node.Sink.WaitForAsync(userJid, matches, timeout)));
    }

    /// <summary>The live primary whose shard region holds <paramref name="room"/> in memory, if any.</summary>
    public async Task<DmucTestNode?> NodeHoldingAsync(string room)
    {
        foreach (var node in LivePrimaries)
        {
            var rooms = await RoomShards.RoomsHere(ClusterSharding.Get(node.System).ShardRegion(RoomShards.TypeName));
            if (rooms.Contains(Jid.Parse(room))) return node;
        }
        return null;
    }

    /// <summary>Kills the node as kill -9 would: it neither leaves the cluster nor lets its rooms say goodbye.</summary>
    public async Task KillAsync(DmucTestNode node)
    {
        _killed.Add(node);
        await node.KillAsync();
    }

    /// <summary>
    /// Stops the node in order, as SIGTERM does: it leaves the cluster and sharding hands its shards to the others (a node's
    /// own first stop task, asking its directory to shut its rooms down, is the test's to send).
    /// </summary>
    public async Task LeaveAsync(DmucTestNode node)
    {
        _killed.Add(node);
        await CoordinatedShutdown.Get(node.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Primaries.Append(Replica).Select(node => node.DisposeAsync().AsTask()));
        _journal.Dispose();
    }
}
