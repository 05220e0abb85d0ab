using Dmuc.Actors.Persistence;
using Dmuc.Actors.Rooms;
using Dmuc.Host.Drills;
using Dmuc.Host.Management;
using Dmuc.Xmpp;

namespace Dmuc.Host;

/// <summary>The node's settings, bound from the "Dmuc" configuration section.</summary>
public sealed class NodeOptions
{
    public const string Section = "Dmuc";

    /// <summary>The XMPP server's component port, HOST:PORT (XEP-0114).</summary>
    public string Server { get; set; } = "127.0.0.1:5347";

    /// <summary>The MUC service domain this node serves, as declared in the XMPP server.</summary>
    public string Domain { get; set; } = "";

    /// <summary>The component secret shared with the XMPP server.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The node's data directory (the SQLite journal lives here).</summary>
    public string Data { get; set; } = "data";

    /// <summary>Bare JIDs of service administrators: owners of every room.</summary>
    public List<string> Admins { get; set; } = [];

    /// <summary>
    /// The XMPP host this node serves (XEP-0282: the host whose users reach the room through this node).
    /// Deliveries to that host's users leave through this node's own component stream.
    /// </summary>
    public string? HostDomain { get; set; }

    /// <summary>Primary: this node holds the MUC domain's rooms. Replica: it relays to the primary node.</summary>
    public NodeRole Role { get; set; } = NodeRole.Primary;

    /// <summary>Akka.Remote endpoint of this node: the address other nodes reach it at.</summary>
    public string ClusterHostname { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (fine for a node on its own).</summary>
    public int ClusterPort { get; set; }

    /// <summary>Seed nodes, e.g. akka.tcp://dmuc@127.0.0.1:4053; none means this node starts a cluster of its own.</summary>
    public List<string> Seeds { get; set; } = [];

    public JournalProvider JournalProvider { get; set; } = JournalProvider.Sqlite;

    /// <summary>Required for PostgreSQL; for SQLite the default is a file in <see cref="Data"/>.</summary>
    public string? JournalConnectionString { get; set; }

    // A snapshot (some 600 KB for a room of 100 with its history) goes through the journal's one SQLite writer and stalls the
    // room's writes behind it: every 500 events it was the three-host tail's period (docs/benchmarks.md, thirteenth session).
    public int SnapshotEvery { get; set; } = 5000;

    /// <summary>
    /// Sharded: the domain's rooms are spread over every primary-capable node (cluster sharding), and move to another when
    /// their node dies or leaves; needs a journal they share (PostgreSQL). Local (default): they live on this node.
    /// </summary>
    public RoomPlacement Placement { get; set; } = RoomPlacement.Local;

    /// <summary>Messages a room keeps beyond its history for the netjoins of split replicas (docs/protocol/netjoin.md §3).</summary>
    public int NetjoinBacklog { get; set; } = 1000;

    /// <summary>Whether new rooms answer XEP-0313 archive queries until their owner turns it off (muc#roomconfig_enablearchiving).</summary>
    public bool ArchiveRooms { get; set; } = true;

    /// <summary>How long room archives keep messages, and the journal their events.</summary>
    public ArchiveRetentionOptions ArchiveRetention { get; set; } = new();

    /// <summary>How long a destroyed persistent room's address answers gone (XEP-0045 §10.9); zero: no tombstones.</summary>
    public TimeSpan RoomTombstoneLifetime { get; set; } = TimeSpan.FromDays(31);

    /// <summary>The most rooms one answer to the service's disco#items lists (XEP-0059 pages; docs/operations.md#many-rooms).</summary>
    public int DiscoItemsPageSize { get; set; } = 100;

    /// <summary>
    /// Whether a primary-capable node asks its server to keep each stanza until its outcome is durable, and to hand the
    /// unacknowledged ones to the next stream (docs/protocol/stream-ack.md; Prosody with mod_dmuc_stream_ack, else off by itself).
    /// </summary>
    public bool StreamAcks { get; set; } = true;

    /// <summary>Whitespace keepalive on the component stream after this much silence.</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A stanza from the server larger than this many bytes is refused to its sender with a policy-violation; the
    /// component stream and everyone else carry on. The default sits above what Prosody and ejabberd forward from a
    /// client after re-escaping it (docs/operations.md, "Stanza limits").
    /// </summary>
    public int MaxStanzaBytes { get; set; } = XmppStreamParser.DefaultMaxStanzaBytes;

    /// <summary>A stanza nested deeper than this many levels is refused the same way.</summary>
    public int MaxStanzaDepth { get; set; } = XmppStreamParser.DefaultMaxDepth;

    /// <summary>Output the component stream may hold while the server is not reading; over it the stream is cut and reconnected.</summary>
    public int MaxQueuedBytes { get; set; } = ComponentConnectionOptions.DefaultMaxQueuedBytes;

    /// <summary>The operator's HTTP endpoint (the dmuc CLI talks to it); off unless a URL is given.</summary>
    public ManagementOptions Management { get; set; } = new();

    /// <summary>The rolling JSON log file (the console is always written).</summary>
    public LogFileOptions Logs { get; set; } = new();
    /// <summary>Failures rehearsed on purpose (netsplit drills); all off unless enabled.</summary>
    public DrillOptions Drills { get; set; } = new();

    /// <summary>The node's certificate for mutual TLS between nodes and what it may speak for (docs/operations.md#security).</summary>
    public ClusterCredentialOptions Tls { get; set; } = new();

    /// <summary>Keepalive timings of the replica links; unset ones keep their defaults (docs/protocol/netjoin.md §1).</summary>
    public ReplicationTimingOptions Replication { get; set; } = new();

    /// <summary>What one user may do: rooms created, stanzas per second in a room.</summary>
    public LimitOptions Limits { get; set; } = new();

    /// <summary>One stanza per broadcast to the server's XEP-0033 multicast service, where it has one.</summary>
    public MulticastOptions Multicast { get; set; } = new();

    /// <summary>Whether this node stands by for its host while another node serves it.</summary>
    public StandbyOptions Standby { get; set; } = new();

    /// <summary>Command-line switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> CommandLineSwitches = new Dictionary<string, string>
    {
        ["--server"] = $"{Section}:{nameof(Server)}",
        ["--domain"] = $"{Section}:{nameof(Domain)}",
        ["--secret"] = $"{Section}:{nameof(Secret)}",
        ["--data"] = $"{Section}:{nameof(Data)}",
        ["--journal"] = $"{Section}:{nameof(JournalProvider)}",
        ["--host-domain"] = $"{Section}:{nameof(HostDomain)}",
        ["--role"] = $"{Section}:{nameof(Role)}",
        ["--cluster-host"] = $"{Section}:{nameof(ClusterHostname)}",
        ["--cluster-port"] = $"{Section}:{nameof(ClusterPort)}",
        ["--seed"] = $"{Section}:{nameof(Seeds)}:0",
        ["--journal-connection"] = $"{Section}:{nameof(JournalConnectionString)}",
        ["--placement"] = $"{Section}:{nameof(Placement)}",
        ["--management-url"] = $"{Section}:{nameof(Management)}:{nameof(ManagementOptions.Url)}",
        ["--management-token"] = $"{Section}:{nameof(Management)}:{nameof(ManagementOptions.Token)}",
        ["--tls-cert"] = $"{Section}:{nameof(Tls)}:{nameof(ClusterCredentialOptions.Certificate)}",
        ["--tls-key"] = $"{Section}:{nameof(Tls)}:{nameof(ClusterCredentialOptions.Key)}",
        ["--tls-ca"] = $"{Section}:{nameof(Tls)}:{nameof(ClusterCredentialOptions.Authority)}",
        [DrillOptions.NetsplitSwitch] = $"{Section}:{nameof(Drills)}:{nameof(DrillOptions.Netsplit)}",
        [StandbyOptions.Switch] = $"{Section}:{nameof(Standby)}:{nameof(StandbyOptions.Enabled)}",
    };

    public (string Host, int Port) ServerEndpoint()
    {
        var colon = Server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(Server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new InvalidSettingException($"Dmuc:Server must be HOST:PORT, got '{Server}'");
        return (Server[..colon], port);
    }

    /// <summary>
    /// The XMPP host whose users this node's component stream reaches: <see cref="HostDomain"/>, or else the server the
    /// MUC domain hangs from (conference.example.org → example.org).
    /// </summary>
    public string ServedHost() =>
        (string.IsNullOrWhiteSpace(HostDomain) ? Domain[(Domain.IndexOf('.') + 1)..] : HostDomain).ToLowerInvariant();

    public JournalOptions Journal() => JournalProvider switch
    {
        JournalProvider.Sqlite when JournalConnectionString is null => JournalOptions.SqliteIn(Data),
        _ when JournalConnectionString is null =>
            throw new InvalidSettingException("Dmuc:JournalConnectionString is required for PostgreSQL"),
        _ => new JournalOptions(JournalProvider, JournalConnectionString),
    };

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Domain)) throw new InvalidSettingException("Dmuc:Domain (--domain) is required");
        if (string.IsNullOrEmpty(Secret)) throw new InvalidSettingException("Dmuc:Secret (--secret) is required");
        if (Role == NodeRole.Replica && string.IsNullOrWhiteSpace(HostDomain))
            throw new InvalidSettingException("a replica node needs Dmuc:HostDomain (--host-domain)");
        // Several nodes writing one SQLite file each would each think they own every room's journal.
        if (Placement == RoomPlacement.Sharded && JournalProvider != JournalProvider.PostgreSql)
            throw new InvalidSettingException("Dmuc:Placement Sharded (--placement) needs a journal the nodes share: --journal PostgreSql");
        if (MaxStanzaBytes < 64) throw new InvalidSettingException("Dmuc:MaxStanzaBytes must be at least 64");
        if (DiscoItemsPageSize < 1) throw new InvalidSettingException("Dmuc:DiscoItemsPageSize must be at least 1");
        if (MaxStanzaDepth < 1) throw new InvalidSettingException("Dmuc:MaxStanzaDepth must be at least 1");
        // Smaller than one stanza, the budget would cut the stream at the first large broadcast.
        if (MaxQueuedBytes < MaxStanzaBytes) throw new InvalidSettingException("Dmuc:MaxQueuedBytes must be at least Dmuc:MaxStanzaBytes");
        if (ArchiveRetention.MaxAge <= TimeSpan.Zero || ArchiveRetention.MaxMessages < 0 || ArchiveRetention.CheckInterval <= TimeSpan.Zero)
            throw new InvalidSettingException("Dmuc:ArchiveRetention: MaxAge and CheckInterval must be positive, MaxMessages not negative");
        if (SnapshotEvery < 1) throw new InvalidSettingException("Dmuc:SnapshotEvery must be at least 1");
        if (NetjoinBacklog < 0) throw new InvalidSettingException("Dmuc:NetjoinBacklog must not be negative");
        if (RoomTombstoneLifetime < TimeSpan.Zero) throw new InvalidSettingException("Dmuc:RoomTombstoneLifetime must not be negative");
        if (KeepaliveInterval <= TimeSpan.Zero) throw new InvalidSettingException("Dmuc:KeepaliveInterval must be positive");
        ServerEndpoint();
        Management.Validate();
        Multicast.Validate();
        Replication.Validate();
        Limits.Validate();
        Standby.Validate(Role, Seeds);
    }
}

public enum NodeRole { Primary, Replica }
