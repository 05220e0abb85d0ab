using System.Xml.Linq;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Security;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Credentials;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>One node of a test cluster: the XMPP host it serves and whether it holds the primaries.</summary>
public sealed record DmucNodeSpec(string Host, bool IsPrimary = false);

/// <summary>
/// N actor systems in one process, clustered over loopback, one per XMPP host, wired as a Dmuc node is (the
/// <see cref="ClusterHosts"/> view and its watcher, a room directory on the primary, a replica directory on
/// every node, a recording sink per node). Messages between nodes go through the real remoting stack and the
/// real <see cref="DmucProtocolSerializer"/>.
/// </summary>
/// <remarks>
/// Remoting runs with the throttler adapter (<c>applied-adapters = [trttl]</c>, addresses <c>akka.trttl.tcp://…</c>) so
/// that <see cref="Netsplit.NetsplitSimulator"/> can cut and heal links on any cluster of this fixture. The failure
/// detector beats every 500 ms, so a cut node is unreachable after about 3.5 s.
/// </remarks>
public sealed class DmucTestCluster : IAsyncDisposable
{
    public static readonly MucServiceOptions ServiceOptions =
        // The XEP's listings carry no XEP-0421 occupant ids; leaving them out keeps our wire form comparable. Senders
        // send as fast as they can: the per-user stanza rate has tests of its own (OccupantStanzaRateTests).
        new("channel.avalon.irc", new HashSet<Jid>()) { OccupantIds = false, OccupantStanzaRate = null };

    private static readonly TimeSpan FormationTimeout = TimeSpan.FromSeconds(30);
    // Generous: two shared cores, and the first stanza of a run also waits for the journal to create its tables.
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan InspectionTimeout = TimeSpan.FromSeconds(3);
    private static readonly RoomActorSettings NeverIdle = new(SnapshotEvery: int.MaxValue, IdleTimeout: TimeSpan.FromHours(1));

    private readonly Dictionary<string, DmucTestNode> _nodes;
    private readonly Config? _extraConfig;
    private readonly MucServiceOptions _serviceOptions;
    private readonly List<DmucTestNode> _intruders = [];

    private DmucTestCluster(IEnumerable<DmucTestNode> nodes, Config? extraConfig, MucServiceOptions serviceOptions)
    {
        _nodes = nodes.ToDictionary(node => node.Host);
        _extraConfig = extraConfig;
        _serviceOptions = serviceOptions;
    }

    public IReadOnlyCollection<DmucTestNode> Nodes => _nodes.Values;

    public DmucTestNode Node(string host) => _nodes[host];

    /// <summary>Starts one node per spec, forms the cluster and waits until every node knows every host and the primary.</summary>
    public static Task<DmucTestCluster> StartAsync(params DmucNodeSpec[] specs) => StartAsync(specs, extraConfig: null);

    /// <param name="extraConfig">Settings every node takes before the test defaults (keepalive timings, say).</param>
    /// <param name="options">The MUC service's settings; <see cref="ServiceOptions"/> when null.</param>
    public static async Task<DmucTestCluster> StartAsync(IReadOnlyList<DmucNodeSpec> specs, Config? extraConfig, MucServiceOptions? options = null)
    {
        var serviceOptions = options ?? ServiceOptions;
        var nodes = await Task.WhenAll(specs.Select(spec => Task.Run(() => DmucTestNode.Start(spec, serviceOptions, NeverIdle, extraConfig))));
        var cluster = new DmucTestCluster(nodes, extraConfig, serviceOptions);
        try
        {
            var seed = Akka.Cluster.Cluster.Get(nodes[0].System).SelfAddress;
            foreach (var node in nodes) Akka.Cluster.Cluster.Get(node.System).Join(seed);
            await cluster.WaitUntilEveryNodeSeesAllHostsAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Kills the node of <paramref name="host"/> (its actor system stops without its rooms saying goodbye; with
    /// <see cref="DmucTestNode.CrashOnStop"/> it does not leave the cluster either) and starts it again on the same
    /// port, with the same host domain and journal: the cluster removes the old incarnation when the new one joins. Returns once every node sees every
    /// host and the primary at their current addresses.
    /// </summary>
    public async Task<DmucTestNode> RestartAsync(string host) => Assert.Single(await RestartTogetherAsync(host));

    /// <summary>
    /// Kills the nodes of <paramref name="hosts"/> at once and starts them again in that order, as <see cref="RestartAsync"/> does one:
    /// each joins a node that is up, the first of them forms the cluster anew when every node was killed.
    /// </summary>
    public async Task<IReadOnlyList<DmucTestNode>> RestartTogetherAsync(params string[] hosts)
    {
        var old = hosts.Select(host => _nodes[host]).ToList();
        var ports = old.Select(node => node.Address.Port ?? throw new InvalidOperationException("a node without a port")).ToList();
        await Task.WhenAll(old.Select(node => node.KillAsync()));
        var restarted = new List<DmucTestNode>();
        foreach (var (node, port) in old.Zip(ports))
        {
            var started = await Task.Run(() => DmucTestNode.Start(node.Spec, _serviceOptions, NeverIdle, _extraConfig, port, node.Journal));
            _nodes[node.Host] = started;
            restarted.Add(started);
            var seed = _nodes.Values.FirstOrDefault(up => up != started && !old.Contains(up)) ?? started;
            Akka.Cluster.Cluster.Get(started.System).Join(seed.Address);
        }
        await WaitUntilEveryNodeSeesAllHostsAsync();
        return restarted;
    }

    /// <summary>
    /// Starts a node that says it is <paramref name="spec"/> (its cluster roles) but presents <paramref name="credential"/>,
    /// and has it join the cluster; returns at once, since the cluster may never let it in.
    /// </summary>
    public DmucTestNode StartIntruder(DmucNodeSpec spec, NodeCredential credential)
    {
        var intruder = DmucTestNode.Start(spec, _serviceOptions, NeverIdle, _extraConfig, credential: credential);
        _intruders.Add(intruder);
        Akka.Cluster.Cluster.Get(intruder.System).Join(Primary.Address);
        return intruder;
    }

    /// <summary>Hands a user's stanza to the node serving the user's host, as its component connection would.</summary>
    public void SendFromUser(XElement stanza)
    {
        var from = Jid.Parse(stanza.Attribute("from")?.Value ?? throw new ArgumentException("a user's stanza has a from"));
        Node(from.Domain).Router.Tell(new RouteStanza(stanza));
    }

    /// <summary>Everything the node serving <paramref name="host"/> handed its XMPP server.</summary>
    public RecordingSink Received(string host) => Node(host).Sink;

    /// <summary>The first stanza, past or future, that the user's node delivered to the user and that matches.</summary>
    public Task<XElement> WaitForAsync(string userJid, Func<XElement, bool> matches, TimeSpan? timeout = null) =>
        Received(Jid.Parse(userJid).Domain).WaitForAsync(userJid, matches, timeout ?? DeliveryTimeout);

    /// <summary>Every stanza the user's node delivered to the user so far.</summary>
    public List<XElement> ReceivedBy(string userJid) => Received(Jid.Parse(userJid).Domain).To(userJid);

    public DmucTestNode Primary => _nodes.Values.Single(node => node.IsPrimary);

    public Task<RoomInspection> InspectRoomAsync(string room) =>
        Primary.Router.Ask<RoomInspection>(new InspectRoom(Jid.Parse(room)), InspectionTimeout);

    /// <summary>The primary's link of <paramref name="room"/> to <paramref name="host"/>.</summary>
    public Task<ReplicaLink.LinkInspection> InspectLinkAsync(string room, string host) =>
        Primary.System.ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(room)}/{ReplicaLink.NameFor(host)}")
            .Ask<ReplicaLink.LinkInspection>(ReplicaLink.InspectLink.Instance, InspectionTimeout);

    /// <summary>The replica of <paramref name="room"/> on the node of <paramref name="host"/>.</summary>
    public Task<ReplicaRoom.ReplicaInspection> InspectReplicaAsync(string room, string host) =>
        Node(host).System.ActorSelection(Node(host).ReplicaPath(room))
            .Ask<ReplicaRoom.ReplicaInspection>(ReplicaRoom.InspectReplica.Instance, InspectionTimeout);

    private async Task WaitUntilEveryNodeSeesAllHostsAsync()
    {
        var deadline = DateTime.UtcNow + FormationTimeout;
        var addresses = _nodes.Values.ToDictionary(node => node.Host, node => node.Address);
        var primary = _nodes.Values.Single(node => node.IsPrimary).Address;
        while (!_nodes.Values.All(node => node.ClusterHosts.PrimaryNode == primary && node.ClusterHosts.Hosts.Count == _nodes.Count
                                          && addresses.All(host => node.ClusterHosts.Hosts.GetValueOrDefault(host.Key) == host.Value)))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the test cluster did not form: " + string.Join("; ",
                    _nodes.Values.Select(node => $"{node.Host} sees {string.Join(", ", node.ClusterHosts.Hosts.Keys)}")));
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Values.Concat(_intruders).Select(node => node.DisposeAsync().AsTask()));
    }
}

/// <summary>One actor system of a <see cref="DmucTestCluster"/>.</summary>
public sealed class DmucTestNode : IAsyncDisposable
{
    private static readonly Config TestSettings = ConfigurationFactory.ParseString("""
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
        """);

    /// <summary>
    /// Nodes started with this stop as in a crash: without the coordinated shutdown that would leave the cluster
    /// first, so the others find them unreachable. Without it, a node leaves the cluster as it stops.
    /// </summary>
    public static readonly Config CrashOnStop = ConfigurationFactory.ParseString("akka.coordinated-shutdown.run-by-actor-system-terminate = off");

    private readonly TempJournal? _journal;
    private readonly bool _ownsJournal;

    private DmucTestNode(DmucNodeSpec spec, ActorSystem system, TempJournal? journal, bool ownsJournal, ClusterHosts hosts, RecordingSink sink,
        IActorRef router, BatchLog batches)
    {
        Spec = spec;
        System = system;
        _journal = journal;
        _ownsJournal = ownsJournal;
        ClusterHosts = hosts;
        Sink = sink;
        Router = router;
        Batches = batches;
    }

    public DmucNodeSpec Spec { get; }
    public string Host => Spec.Host;
    public bool IsPrimary => Spec.IsPrimary;
    /// <summary>The primary's journal, which a restart takes over; null on a replica node.</summary>
    internal TempJournal? Journal => _journal;
    public ActorSystem System { get; }
    public ClusterHosts ClusterHosts { get; }
    public RecordingSink Sink { get; }
    /// <summary>Where the node's component connection hands stanzas: the room directory on the primary, the replica directory elsewhere.</summary>
    public IActorRef Router { get; }
    /// <summary>Every batch this node's replica directory received from a primary, after deserialization.</summary>
    public BatchLog Batches { get; }
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    /// <summary>Where the replica of <paramref name="room"/> lives: under the real directory, behind the batch tap.</summary>
    public string ReplicaPath(string room) => $"/user/{ReplicaDirectory.Name}/{BatchRecordingTap.DirectoryName}/{Uri.EscapeDataString(room)}";

    /// <param name="port">0 for any free port; a restarted node takes its old one.</param>
    /// <param name="journal">The journal of the node this one restarts; a new one for a primary otherwise.</param>
    /// <param name="credential">What the node presents to the others; by default a certificate of the test authority for exactly its spec.</param>
    /// <param name="placement">Where the primary's directory puts rooms; sharded nodes share <paramref name="journal"/>, which the caller disposes.</param>
    internal static DmucTestNode Start(DmucNodeSpec spec, MucServiceOptions options, RoomActorSettings settings, Config? extraConfig,
        int port = 0, TempJournal? journal = null, NodeCredential? credential = null, RoomPlacement placement = RoomPlacement.Local)
    {
        var roles = new[] { spec.IsPrimary ? ClusterHosts.PrimaryRole : ClusterHosts.ReplicaRole, ClusterHosts.HostRole(spec.Host) };
        var config = ConfigurationFactory.ParseString($"akka.cluster.roles = [{string.Join(", ", roles.Select(r => $"\"{r}\""))}]")
            .WithFallback(ConfigurationFactory.ParseString($"akka.remote.dot-netty.tcp.port = {port}"))
            .WithFallback(extraConfig ?? Config.Empty)
            .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.ProtocolSerializerHocon))
            .WithFallback(ConfigurationFactory.ParseString(ReplicationHosting.RemotingHocon))
            .WithFallback(TestSettings);
        // Only a primary runs persistent rooms, so only a primary needs a journal.
        journal ??= spec.IsPrimary ? new TempJournal() : null;
        if (journal is not null) config = config.WithFallback(journal.Config);

        credential ??= TestCredentials.For(spec.Host, spec.IsPrimary ? options.ServiceDomain : null);
        var system = ActorSystem.Create("dmuc", ClusterTls.SystemSetup(credential, config));
        var hosts = new ClusterHosts(spec.Host);
        var sink = new RecordingSink();
        var batches = new BatchLog();
        system.ActorOf(ClusterHostsWatcher.Props(hosts, credential, options.ServiceDomain), ClusterHostsWatcher.Name);
        var replicas = system.ActorOf(Props.Create(() => new BatchRecordingTap(ReplicaDirectory.Props(hosts, sink), batches)), ReplicaDirectory.Name);
        var router = spec.IsPrimary
            ? system.ActorOf(RoomDirectory.Props(options, sink, hosts, settings, placement), RoomDirectory.Name)
            : replicas;
        return new DmucTestNode(spec, system, journal, ownsJournal: placement == RoomPlacement.Local, hosts, sink, router, batches);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_ownsJournal) _journal?.Dispose();
    }

    /// <summary>Stops the actor system, keeping the journal: a crash when the node runs with <see cref="CrashOnStop"/>.</summary>
    internal Task KillAsync() => System.Terminate().WaitAsync(TimeSpan.FromSeconds(15));

    /// <summary>
    /// Stands at /user/replicas, where primaries send batches, in front of the real replica directory: notes
    /// each batch, then forwards everything unchanged (the sender too, which a refused entry is answered to).
    /// </summary>
    private sealed class BatchRecordingTap : ReceiveActor
    {
        public const string DirectoryName = "directory";

        public BatchRecordingTap(Props replicaDirectory, BatchLog batches)
        {
            var directory = Context.ActorOf(replicaDirectory, DirectoryName);
            ReceiveAny(message =>
            {
                if (message is ReplicaBatch batch) batches.Add(batch);
                directory.Forward(message);
            });
        }
    }
}

/// <summary>The batches one node received, in arrival order.</summary>
public sealed class BatchLog
{
    private readonly Lock _lock = new();
    private readonly List<ReplicaBatch> _batches = [];

        /// <summary>Runs on the receiving node's thread as each batch arrives, before it is recorded.</summary>
    public Action<ReplicaBatch>? OnReceived { get; set; }

    internal void Add(ReplicaBatch batch)
    {
        OnReceived?.Invoke(batch);
        lock (_lock) _batches.Add(batch);
    }

    public IReadOnlyList<ReplicaBatch> For(string room)
    {
        var roomJid = Jid.Parse(room);
        lock (_lock) return _batches.Where(batch => batch.Room == roomJid).ToList();
    }

    /// <summary>The room's batches received from now on: <c>Since(mark)</c> with the count taken before an action.</summary>
    public int Mark(string room) => For(room).Count;

    public IReadOnlyList<ReplicaBatch> Since(string room, int mark) => For(room).Skip(mark).ToList();
}
