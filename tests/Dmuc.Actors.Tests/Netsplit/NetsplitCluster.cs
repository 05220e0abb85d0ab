using System.Xml.Linq;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A Dmuc cluster in one process (as <see cref="DmucTestCluster"/>) whose nodes run with fast keepalive timings and
/// the production split tolerance (no automatic downing), so that links can be cut and healed within a test.
/// </summary>
/// <remarks>DmucTestCluster has no way to pass extra configuration; once it has, this can become a thin layer over it.</remarks>
public sealed class NetsplitCluster : IAsyncDisposable
{
    public static readonly ReplicationSettings FastKeepalive = new(
        KeepaliveInterval: TimeSpan.FromMilliseconds(300), PingTimeout: TimeSpan.FromMilliseconds(500),
        SplitPingInterval: TimeSpan.FromMilliseconds(200));

    internal static readonly RoomActorSettings NeverIdle = new(SnapshotEvery: int.MaxValue, IdleTimeout: TimeSpan.FromHours(1));
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);

    private readonly Dictionary<string, NetsplitNode> _nodes;

    private NetsplitCluster(IEnumerable<NetsplitNode> nodes)
    {
        _nodes = nodes.ToDictionary(node => node.Host);
        Links = new NetsplitSimulator(host => _nodes[host].System);
    }

    public NetsplitSimulator Links { get; }

    public NetsplitNode Node(string host) => _nodes[host];

    public static async Task<NetsplitCluster> StartAsync(params DmucNodeSpec[] specs)
    {
        var nodes = await Task.WhenAll(specs.Select(spec => Task.Run(() => NetsplitNode.Start(spec))));
        var cluster = new NetsplitCluster(nodes);
        var seed = Akka.Cluster.Cluster.Get(nodes[0].System).SelfAddress;
        foreach (var node in nodes) Akka.Cluster.Cluster.Get(node.System).Join(seed);
        await Eventually(() => nodes.All(node => node.ClusterHosts.Hosts.Count == nodes.Length && node.ClusterHosts.PrimaryNode is not null),
            "the cluster to form", TimeSpan.FromSeconds(30));
        return cluster;
    }

    public void SendFromUser(XElement stanza) =>
        Node(Jid.Parse(stanza.Attribute("from")!.Value).Domain).Router.Tell(new RouteStanza(stanza));

    public Task<XElement> WaitForAsync(ChatUser user, Func<XElement, bool> matches, TimeSpan? timeout = null) =>
        Node(user.Host).Sink.WaitForAsync(user.Jid, matches, timeout);

    public List<XElement> ReceivedBy(ChatUser user) => Node(user.Host).Sink.To(user.Jid);

    /// <summary>The primary's link of <paramref name="room"/> to <paramref name="host"/>.</summary>
    public Task<ReplicaLink.LinkInspection> InspectLinkAsync(string room, string host) =>
        PrimaryNode.System.ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(room)}/{ReplicaLink.NameFor(host)}")
            .Ask<ReplicaLink.LinkInspection>(ReplicaLink.InspectLink.Instance, TimeSpan.FromSeconds(3));

    /// <summary>The replica of <paramref name="room"/> on the node of <paramref name="host"/>.</summary>
    public Task<ReplicaRoom.ReplicaInspection> InspectReplicaAsync(string room, string host) =>
        Node(host).System.ActorSelection($"/user/{ReplicaDirectory.Name}/{Uri.EscapeDataString(room)}")
            .Ask<ReplicaRoom.ReplicaInspection>(ReplicaRoom.InspectReplica.Instance, TimeSpan.FromSeconds(3));

    public Task<RoomInspection> InspectRoomAsync(string room) =>
        PrimaryNode.Router.Ask<RoomInspection>(new InspectRoom(Jid.Parse(room)), TimeSpan.FromSeconds(3));

    /// <summary>Waits until both ends of the room's link to <paramref name="host"/> are in <paramref name="state"/>.</summary>
    public Task WaitForLinkStateAsync(string room, string host, LinkState state, TimeSpan? timeout = null) =>
        Eventually(async () => (await InspectLinkAsync(room, host)).State == state && (await InspectReplicaAsync(room, host)).State == state,
            $"the link of {room} to {host} to be {state}", timeout ?? DefaultWait);

    /// <summary>Waits until the replica of the room on <paramref name="host"/> is in <paramref name="state"/>.</summary>
    public Task WaitForReplicaStateAsync(string room, string host, LinkState state) =>
        Eventually(async () => (await InspectReplicaAsync(room, host)).State == state, $"the replica on {host} to be {state}", DefaultWait);

    public static Task Eventually(Func<bool> condition, string what, TimeSpan timeout) =>
        Eventually(() => Task.FromResult(condition()), what, timeout);

    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception error) when (error is AskTimeoutException or ActorNotFoundException)
            {
                // the actor is busy or not there yet: look again
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout.TotalSeconds} s for {what}");
            await Task.Delay(50);
        }
    }

    private NetsplitNode PrimaryNode => _nodes.Values.Single(node => node.IsPrimary);

    public async ValueTask DisposeAsync() => await Task.WhenAll(_nodes.Values.Select(node => node.DisposeAsync().AsTask()));
}

/// <summary>One actor system of a <see cref="NetsplitCluster"/>.</summary>
public sealed class NetsplitNode : IAsyncDisposable
{
    private static readonly Config TestSettings = ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          actor.provider = cluster
          remote.dot-netty.tcp {
            hostname = "127.0.0.1"
            port = 0
            applied-adapters = [trttl]
          }
          cluster {
            failure-detector.heartbeat-interval = 500ms
            gossip-interval = 250ms
            leader-actions-interval = 250ms
            run-coordinated-shutdown-when-down = off
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        dmuc.replication {
          keepalive-interval = {{(int)NetsplitCluster.FastKeepalive.KeepaliveInterval.TotalMilliseconds}}ms
          ping-timeout = {{(int)NetsplitCluster.FastKeepalive.PingTimeout.TotalMilliseconds}}ms
          split-ping-interval = {{(int)NetsplitCluster.FastKeepalive.SplitPingInterval.TotalMilliseconds}}ms
        }
        """);

    private readonly TempJournal? _journal;

    private NetsplitNode(DmucNodeSpec spec, ActorSystem system, TempJournal? journal, ClusterHosts hosts, RecordingSink sink, IActorRef router)
    {
        Host = spec.Host;
        IsPrimary = spec.IsPrimary;
        System = system;
        _journal = journal;
        ClusterHosts = hosts;
        Sink = sink;
        Router = router;
    }

    public string Host { get; }
    public bool IsPrimary { get; }
    public ActorSystem System { get; }
    public ClusterHosts ClusterHosts { get; }
    public RecordingSink Sink { get; }
    public IActorRef Router { get; }

    internal static NetsplitNode Start(DmucNodeSpec spec)
    {
        var roles = new[] { spec.IsPrimary ? ClusterHosts.PrimaryRole : ClusterHosts.ReplicaRole, ClusterHosts.HostRole(spec.Host) };
        var config = ConfigurationFactory.ParseString($"akka.cluster.roles = [{string.Join(", ", roles.Select(r => $"\"{r}\""))}]")
            .WithFallback(TestSettings)
            .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.SplitToleranceHocon))
            .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.ProtocolSerializerHocon));
        var journal = spec.IsPrimary ? new TempJournal() : null;
        if (journal is not null) config = config.WithFallback(journal.Config);

        var system = ActorSystem.Create("dmuc", config);
        var hosts = new ClusterHosts(spec.Host);
        var sink = new RecordingSink();
        system.ActorOf(Props.Create(() => new ClusterHostsWatcher(hosts)), "cluster-hosts");
        var replicas = system.ActorOf(ReplicaDirectory.Props(hosts, sink), ReplicaDirectory.Name);
        var router = spec.IsPrimary
            ? system.ActorOf(RoomDirectory.Props(DmucTestCluster.ServiceOptions, sink, hosts, NetsplitCluster.NeverIdle), RoomDirectory.Name)
            : replicas;
        return new NetsplitNode(spec, system, journal, hosts, sink, router);
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
        _journal?.Dispose();
    }
}

/// <summary>
/// Cuts and heals the network between two nodes with Akka.Remote's throttler (<c>applied-adapters = [trttl]</c>):
/// a blackholed direction drops every message, as a real netsplit does.
/// </summary>
public sealed class NetsplitSimulator(Func<string, ActorSystem> systemOf)
{
    /// <summary>Cuts the link between the nodes of two hosts, both ways or only from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public Task CutAsync(string from, string to, bool bothWays = true) =>
        Throttle(from, to, bothWays ? ThrottleTransportAdapter.Direction.Both : ThrottleTransportAdapter.Direction.Send, Blackhole.Instance);

    public Task HealAsync(string from, string to) =>
        Throttle(from, to, ThrottleTransportAdapter.Direction.Both, Unthrottled.Instance);

    private async Task Throttle(string from, string to, ThrottleTransportAdapter.Direction direction, ThrottleMode mode)
    {
        var system = (ExtendedActorSystem)systemOf(from);
        var target = Akka.Cluster.Cluster.Get(systemOf(to)).SelfAddress;
        var transport = ((IRemoteActorRefProvider)system.Provider).Transport;
        if (!await transport.ManagementCommand(new SetThrottle(target, direction, mode)))
            throw new InvalidOperationException($"the throttler refused {mode} from {from} to {to}");
    }
}
