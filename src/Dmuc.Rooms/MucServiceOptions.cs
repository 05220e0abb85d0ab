using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Service-wide settings. The defaults follow Prosody 0.12's mod_muc defaults, apart from the limits on users.</summary>
public sealed record MucServiceOptions(string ServiceDomain, IReadOnlySet<Jid> Admins)
{
    /// <summary>The configuration a new room starts with (before its owner submits the form).</summary>
    public RoomConfig RoomDefaults { get; init; } = new();

    /// <summary>How many messages a new room keeps and sends to joiners (Prosody: 20).</summary>
    public int HistoryLength
    {
        get => RoomDefaults.HistoryLength;
        init => RoomDefaults = RoomDefaults with { HistoryLength = value };
    }

    /// <summary>The most an owner may set muc#roomconfig_historylength to.</summary>
    public int MaxHistoryStored { get; init; } = 100;

    /// <summary>
    /// How many recent messages a room keeps, beyond its history, for the netjoins of replicas that were split
    /// (docs/protocol/netjoin.md §3): a split longer than this many messages loses the oldest, and its users are told.
    /// Entrants still get at most the room's history length.
    /// </summary>
    public int NetjoinBacklog { get; init; } = 1000;

    /// <summary>How long a destroyed persistent room's address answers <c>gone</c> (Prosody: muc_tombstone_expiry,
    /// 31 days); null: no tombstones, the name is free at once.</summary>
    public TimeSpan? TombstoneLifetime { get; init; } = TimeSpan.FromDays(31);

    /// <summary>How long room archives keep messages (and the journal their events); null: as long as the journal keeps them.</summary>
    public ArchiveRetention? ArchiveRetention { get; init; }

    /// <summary>New rooms stay locked until the owner submits the configuration form (XEP-0045 §10.1.1).</summary>
    public bool LockNewRooms { get; init; } = true;

    /// <summary>A locked room unlocks by itself after this long (Prosody: muc_room_lock_timeout).</summary>
    public TimeSpan RoomLockTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Longest nickname accepted, in characters.</summary>
    public int MaxNickLength { get; init; } = 128;

    /// <summary>Whether users without an affiliation may register a nickname with a room.</summary>
    public bool AllowUnaffiliatedRegistration { get; init; }

    /// <summary>Whether presences and messages carry XEP-0421 occupant ids.</summary>
    public bool OccupantIds { get; init; } = true;

    /// <summary>
    /// The most rooms one answer to the service's disco#items lists: the page size when a client asks without XEP-0059
    /// paging or without &lt;max/&gt;, and the cap on a larger &lt;max/&gt; (ejabberd: max_rooms_discoitems, 100).
    /// </summary>
    public int DiscoItemsPageSize { get; init; } = 100;

    /// <summary>The service's name in disco#info.</summary>
    public string ServiceName { get; init; } = "Chatrooms";

    /// <summary>
    /// How fast one user (bare JID) may send groupchat messages and presence changes to a room; beyond it they are
    /// refused with policy-violation (Prosody's mod_muc_limits). Null: no limit.
    /// </summary>
    public RateLimit? OccupantStanzaRate { get; init; } = new(PerSecond: 2, Burst: 10);

    /// <summary>Rooms one user (bare JID) may have created that still exist; service admins are exempt. Null: no limit.</summary>
    public int? RoomsPerCreator { get; init; } = 100;

    /// <summary>How fast one user (bare JID) may create rooms; service admins are exempt. Null: no limit.</summary>
    public RateLimit? RoomCreationRate { get; init; } = RateLimit.PerMinute(10, burst: 10);

    /// <summary>The service domain itself, or a room or occupant JID under it.</summary>
    public bool IsServiceAddress(Jid jid) => jid.Domain == ServiceDomain;

    /// <summary>Service admins are owners of every room (Prosody: component_admins_as_room_owners).</summary>
    public bool IsAdmin(Jid jid) => Admins.Contains(jid.Bare);
}
