using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dmuc.Management.Contracts;

/// <summary>The routes of a node's management endpoint and the JSON settings both sides use.</summary>
public static class ManagementApi
{
    public const string Cluster = "/api/cluster";
    public const string ClusterLeave = "/api/cluster/leave";
    public const string ClusterDown = "/api/cluster/down";
    /// <summary>A primary-capable node leaves so that its rooms move to the others (<see cref="ClusterNodeRequest"/>).</summary>
    public const string ClusterDrain = "/api/cluster/drain";
    public const string Actors = "/api/actors";
    public const string Rooms = "/api/rooms";
    public const string Health = "/healthz";
    public const string Ready = "/ready";
    /// <summary>The status page: static, so it needs no token; its data comes from <see cref="Status"/>, which does.</summary>
    public const string StatusPage = "/status";
    public const string Status = "/api/status";

    /// <summary>The most rooms one page of <see cref="Rooms"/> holds, and how many without a limit.</summary>
    public const int MaxRoomsPerPage = 1000;
    public const int DefaultRoomsPerPage = 100;

    /// <summary>A page of the rooms, in JID order, after the room <paramref name="after"/> (which need not exist any more).</summary>
    public static string RoomsPage(string? after, int? limit)
    {
        var query = new List<string>();
        if (after is not null) query.Add($"after={Uri.EscapeDataString(after)}");
        if (limit is { } count) query.Add($"limit={count}");
        return query.Count == 0 ? Rooms : $"{Rooms}?{string.Join('&', query)}";
    }

    public static string Room(string room) => $"{Rooms}/{Uri.EscapeDataString(room)}";
    public static string RoomHistory(string room, int last) => $"{Room(room)}/history?last={last}";
    public static string RoomKick(string room) => $"{Room(room)}/kick";
    public static string RoomDestroy(string room) => $"{Room(room)}/destroy";
    public static string ActorTree(string path, int depth) => $"{Actors}?path={Uri.EscapeDataString(path)}&depth={depth}";

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>Every refusal carries one of these; the HTTP status says which kind it is.</summary>
public sealed record ErrorResponse(string Error);

/// <param name="Delivery">How the answering node hands broadcasts to its XMPP server.</param>
public sealed record ClusterView(string Self, IReadOnlyList<ClusterMemberView> Members, DeliveryView Delivery);

/// <param name="MulticastService">The server's XEP-0033 service that broadcasts to <paramref name="HostDomain"/>'s users
/// go through, one stanza each; null: one stanza per recipient (multicast off, not offered, or the stream is down).</param>
/// <param name="CompactRecipients">The service is Dmuc's own module and takes the recipients as Dmuc's compact list
/// (docs/protocol/multicast.md) rather than XEP-0033 addresses.</param>
public sealed record DeliveryView(string? MulticastService, string? HostDomain, bool CompactRecipients = false);

/// <param name="Status">Akka.Cluster's member status: Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed.</param>
/// <param name="Reachable">False when some member's failure detector currently marks it unreachable.</param>
/// <param name="HostDomain">The XMPP host the node serves (from its <c>host-…</c> role), if any.</param>
/// <param name="IsPrimary">Whether the node holds the MUC domain's rooms (role <c>primary</c>).</param>
public sealed record ClusterMemberView(string Address, string Status, bool Reachable, IReadOnlyList<string> Roles,
    string? HostDomain, bool IsPrimary, bool IsSelf);

/// <summary>Body of <c>POST /api/cluster/leave</c> and <c>/down</c>: the member's Akka address.</summary>
public sealed record ClusterNodeRequest(string Node);

public sealed record ClusterActionAccepted(string Node, string Action);

/// <summary>What <c>dmuc node drain</c> saw: the node left the cluster after <paramref name="Seconds"/>, and where the rooms are now.</summary>
public sealed record NodeDrained(string Node, double Seconds, IReadOnlyList<NodeRoomCount> RoomsByNode);

/// <param name="Node">A node's cluster address; null for rooms whose shard is not placed yet.</param>
public sealed record NodeRoomCount(string? Node, int Rooms);

/// <param name="Truncated">The walk stopped early (node limit or time limit): some children are missing.</param>
public sealed record ActorTreeView(ActorTreeNode Root, bool Truncated);

public sealed record ActorTreeNode(string Path, string Name, IReadOnlyList<ActorTreeNode> Children);

/// <param name="NodeRole">Primary: the rooms themselves. Replica: the rooms this node relays that have occupants (as the
/// replica's roster has them).</param>
/// <param name="PrimaryNode">The Akka address of the node holding the rooms, as this node sees the cluster.</param>
/// <param name="Total">On the primary: how many rooms the service has; the list is one page of them, in JID order.</param>
/// <param name="NextAfter">On the primary: the cursor for the next page (<c>?after=</c>), null on the last page.</param>
public sealed record RoomsView(NodeRoleView NodeRole, string? PrimaryNode, IReadOnlyList<RoomSummary> Rooms,
    int? Total = null, string? NextAfter = null);

public enum NodeRoleView { Primary, Replica }

/// <param name="ReplicaHosts">Hosts with occupants that are served by another Dmuc node (a replica link each); empty on a replica node.</param>
/// <param name="Node">The Akka address of the node where the room lives (its primary), as the answering node knows it.</param>
/// <param name="Active">The room is in that node's memory now; an idle room lives in the journal until someone needs it.
/// Null on a replica node, which does not know.</param>
public sealed record RoomSummary(string Room, string Name, int Occupants, IReadOnlyList<string> ReplicaHosts,
    string? Node = null, bool? Active = null);

/// <summary>
/// A room as the answering node holds it. On the primary: the room itself (<see cref="Replica"/> is null). On a replica
/// node: what the replica holds (its roster, its history, its link to the primary); the name and the journal are the
/// primary's (null here), and only this host's occupants have a known real JID and host.
/// </summary>
/// <param name="Node">The Akka address of the node where the room lives: on the primary, the node its actor runs on.</param>
public sealed record RoomDetails(string Room, string? Name, long? JournalSequenceNr, int HistoryLength, int OccupantCount,
    IReadOnlyList<HostOccupants> OccupantsByHost, IReadOnlyList<ReplicaLinkView> ReplicaLinks, ReplicaSideView? Replica = null,
    string? Node = null);

/// <param name="Host">Null for occupants a replica node knows only by nick (they are served by other hosts).</param>
public sealed record HostOccupants(string? Host, IReadOnlyList<OccupantView> Occupants);

/// <param name="RealJid">Null where the node does not know it (another host's occupant, seen from a replica).</param>
public sealed record OccupantView(string Nick, string? RealJid, string Role, string Affiliation);

/// <summary>A replica's end of its link to the primary.</summary>
/// <param name="State">Linked, Split or Rejoining, as the replica sees it.</param>
/// <param name="LastBatchSequence">The last batch of the primary applied here.</param>
/// <param name="HeldStanzas">Local users' stanzas served during a split, still to reach the primary.</param>
public sealed record ReplicaSideView(string? PrimaryNode, string State, DateTimeOffset? SplitSince, double? LastRttMilliseconds,
    double? AverageRttMilliseconds, long LastBatchSequence, int HeldStanzas);

/// <param name="State">Linked, Split or Rejoining (the primary's view of the link, XEP-0282 §4.10–4.11).</param>
/// <param name="BatchesWithheld">Batches not sent while split; the netjoin's resync replaced them.</param>
public sealed record ReplicaLinkView(string Host, string? Node, string State, DateTimeOffset? SplitSince,
    double? LastRttMilliseconds, double? AverageRttMilliseconds, long BatchesSent, long BatchesWithheld);

public sealed record RoomHistoryView(string Room, int Kept, IReadOnlyList<HistoryMessageView> Messages);

/// <param name="Body">The message's body, when it has one (a history entry may be a subject-less message with other payloads).</param>
public sealed record HistoryMessageView(DateTimeOffset Timestamp, string Nick, string Sender, string? Body, string StanzaId);

public sealed record KickRequest(string Nick, string? Reason);

public sealed record RoomActionDone(string Room, string Action, string? Nick);

/// <summary>The cluster as the answering node sees it, for the status page: members, and its rooms with occupants.</summary>
/// <param name="Rooms">On the primary: its rooms with occupants. On a replica node: its replicas with occupants.</param>
public sealed record ClusterStatusView(DateTimeOffset At, NodeRoleView NodeRole, ClusterView Cluster, IReadOnlyList<RoomDetails> Rooms);

/// <summary>The answer of <c>/healthz</c> and <c>/ready</c>.</summary>
/// <param name="Status">Healthy, Degraded or Unhealthy: the worst of the checks.</param>
public sealed record HealthView(string Status, IReadOnlyList<HealthCheckView> Checks);

public sealed record HealthCheckView(string Name, string Status, string? Description);

/// <summary>What a node and the CLI agree on without being told: the endpoint of a node on the same machine.</summary>
public static class ManagementDefaults
{
    public const string Url = "http://127.0.0.1:5380";
}
