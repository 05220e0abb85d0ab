using System.Xml.Linq;
using Akka.Actor;
using Akka.Hosting;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Management.Contracts;
using Dmuc.Xmpp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary>
/// The rooms of this node. Each node answers about itself: the primary about its rooms in full, a replica about what
/// its replicas hold (roster, history, link) and the primary's address. Rooms are asked through the room directory,
/// which owns their lifecycle: asking about an unknown room starts its actor briefly (it finds no journal and
/// passivates again). With rooms sharded, any primary-capable node answers for every room: the directory asks it
/// through the shard region wherever it lives.
/// </summary>
internal sealed class RoomRoutes
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private readonly ActorSystem _system;
    private readonly ActorRegistry _registry;
    private readonly ClusterHosts _hosts;
    private readonly ManagedNode _node;

    private RoomRoutes(ActorSystem system, ActorRegistry registry, ClusterHosts hosts, ManagedNode node)
    {
        _system = system;
        _registry = registry;
        _hosts = hosts;
        _node = node;
    }

    /// <returns>The routes, whose room views the status page shows too.</returns>
    public static RoomRoutes Map(WebApplication app, IServiceProvider services, ManagedNode node)
    {
        var routes = new RoomRoutes(services.GetRequiredService<ActorSystem>(), services.GetRequiredService<ActorRegistry>(),
            services.GetRequiredService<ClusterHosts>(), node);
        app.MapGet(ManagementApi.Rooms, (string? after, int? limit) =>
            Answering(node.Role == NodeRole.Replica ? routes.ListReplicasAsync : () => routes.ListAsync(after, limit)));
        app.MapGet(ManagementApi.Rooms + "/{room}", (string room) =>
            routes.Resolving(room, node.Role == NodeRole.Replica ? routes.ShowReplicaAsync : routes.ShowAsync));
        app.MapGet(ManagementApi.Rooms + "/{room}/history", (string room, int? last) =>
            routes.OnPrimary(room, jid => routes.HistoryAsync(jid, last)));
        app.MapPost(ManagementApi.Rooms + "/{room}/kick", (string room, KickRequest kick) =>
            routes.OnPrimary(room, jid => routes.KickAsync(jid, kick)));
        app.MapPost(ManagementApi.Rooms + "/{room}/destroy", (string room) => routes.OnPrimary(room, routes.DestroyAsync));
        return routes;
    }

    /// <summary>Every room of this node with occupants, as <c>room show</c> shows it (on a replica node: its replicas).</summary>
    public async Task<IReadOnlyList<RoomDetails>> OccupiedRoomsAsync()
    {
        var rooms = _node.Role == NodeRole.Replica
            ? await RelayedRoomsAsync()
            : (await Ask<RoomList>(Directory, ListOccupiedRooms.Instance)).Rooms.Select(listing => listing.Room).ToList();
        Func<Jid, Task<RoomDetails?>> detailsOf = _node.Role == NodeRole.Replica ? ReplicaDetailsAsync : PrimaryDetailsAsync;
        var details = await Task.WhenAll(rooms.OrderBy(room => room.ToString(), StringComparer.Ordinal).Select(detailsOf));
        return details.OfType<RoomDetails>().Where(room => room.OccupantCount > 0).ToList();
    }

    /// <summary>One page of the service's rooms, in JID order, with the cursor for the next.</summary>
    private async Task<IResult> ListAsync(string? after, int? limit)
    {
        if (limit is < 1 or > ManagementApi.MaxRoomsPerPage)
            return Answer.BadRequest($"limit must be between 1 and {ManagementApi.MaxRoomsPerPage}");
        var primary = _hosts.PrimaryNode?.ToString();
        var listed = await Ask<RoomList>(Directory, new ListRooms(after, limit ?? ManagementApi.DefaultRoomsPerPage));
        // Only occupied rooms can have replica hosts, and only those are sure to be running: the others are not woken. A room
        // sharded onto another node is asked there, through the shard region.
        var rooms = await Task.WhenAll(listed.Rooms.Select(async listing =>
        {
            var node = listed.PlacedOn is { } placed ? placed.GetValueOrDefault(listing.Room) : listed.Node;
            var replicaHosts = listing.Occupants == 0 ? []
                : ReplicaHostsOf(await Ask<RoomInspection>(Directory, new InspectRoom(listing.Room)));
            return new RoomSummary(listing.Room.ToString(), listing.Name, listing.Occupants, replicaHosts, node?.ToString(),
                node == listed.Node ? listed.Active?.Contains(listing.Room) == true : null);
        }));
        return Answer.Ok(new RoomsView(NodeRoleView.Primary, primary, rooms, listed.Total, listed.HasMore ? rooms[^1].Room : null));
    }

    private async Task<IResult> ShowAsync(Jid room) =>
        await PrimaryDetailsAsync(room) is { } details ? Answer.Ok(details) : NoSuchRoom(room);

    private async Task<RoomDetails?> PrimaryDetailsAsync(Jid room)
    {
        var inspection = await Ask<RoomInspection>(Directory, new InspectRoom(room));
        if (!inspection.Exists) return null;
        var byHost = inspection.Sessions
            .GroupBy(session => session.RealJid.Domain)
            .OrderBy(host => host.Key, StringComparer.Ordinal)
            .Select(host => new HostOccupants(host.Key, host.Select(session => new OccupantView(
                session.Nick, session.RealJid.ToString(), session.Role.ToString(), session.Affiliation.ToString())).ToList()));
        var links = inspection.Links.OrderBy(link => link.Host, StringComparer.Ordinal).Select(link => new ReplicaLinkView(
            link.Host, link.Node, link.State.ToString(), link.SplitSince, link.LastRtt?.TotalMilliseconds,
            link.AverageRtt?.TotalMilliseconds, link.BatchesSent, link.BatchesWithheld));
        return new RoomDetails(room.ToString(), inspection.Name, inspection.JournalSequenceNr, inspection.History.Count,
            inspection.Sessions.Select(session => session.Nick).Distinct().Count(), byHost.ToList(), links.ToList(),
            Node: inspection.Node.ToString());
    }

    /// <summary>
    /// A replica outlives its room (destroyed, or left by everyone) and the primary may send batches for the service's
    /// own address: the rooms this node relays are those with occupants in their roster.
    /// </summary>
    private async Task<IResult> ListReplicasAsync()
    {
        var held = await Task.WhenAll((await RelayedRoomsAsync()).Select(InspectReplicaAsync));
        var rooms = held.Where(replica => replica.Roster.Count > 0)
            .OrderBy(replica => replica.Room.ToString(), StringComparer.Ordinal)
            .Select(replica => new RoomSummary(replica.Room.ToString(), "", replica.Roster.Count, [], _hosts.PrimaryNode?.ToString()));
        return Answer.Ok(new RoomsView(NodeRoleView.Replica, _hosts.PrimaryNode?.ToString(), rooms.ToList()));
    }

    private async Task<IResult> ShowReplicaAsync(Jid room)
    {
        if (!(await RelayedRoomsAsync()).Contains(room)) return Answer.NotFound($"this replica node relays no room {room}");
        return await ReplicaDetailsAsync(room) is { } details
            ? Answer.Ok(details)
            : Answer.NotFound($"this replica node relays no room {room} (nobody is in it)");
    }

    private async Task<RoomDetails?> ReplicaDetailsAsync(Jid room)
    {
        var replica = await InspectReplicaAsync(room);
        if (replica.Roster.Count == 0) return null;
        var realJids = replica.LocalOccupants.GroupBy(occupant => occupant.Value, occupant => occupant.Key.ToString())
            .ToDictionary(nick => nick.Key, nick => string.Join(", ", nick.Order(StringComparer.Ordinal)));
        var byHost = replica.Roster
            .GroupBy(entry => realJids.ContainsKey(entry.Nick) ? _hosts.OwnHost : null)
            .OrderBy(host => host.Key is null)
            .Select(host => new HostOccupants(host.Key, host.Select(entry => new OccupantView(entry.Nick, realJids.GetValueOrDefault(entry.Nick),
                entry.Role.ToString(), entry.Affiliation.ToString())).ToList()));
        var link = new ReplicaSideView(_hosts.PrimaryNode?.ToString(), replica.State.ToString(), replica.SplitSince,
            replica.LastRtt?.TotalMilliseconds, replica.AverageRtt?.TotalMilliseconds, replica.LastSequence, replica.HeldStanzas);
        return new RoomDetails(room.ToString(), Name: null, JournalSequenceNr: null, replica.HistoryLength, replica.Roster.Count,
            byHost.ToList(), [], link, Node: _hosts.PrimaryNode?.ToString());
    }

    private async Task<IReadOnlyList<Jid>> RelayedRoomsAsync() =>
        (await Ask<ReplicaDirectory.ReplicaList>(_registry.Get<ReplicaDirectory>(), ReplicaDirectory.ListReplicas.Instance)).Rooms
        .Where(room => room.Local is not null).ToList();

    private Task<ReplicaRoom.ReplicaInspection> InspectReplicaAsync(Jid room) =>
        Ask<ReplicaRoom.ReplicaInspection>(_system.ActorSelection(_registry.Get<ReplicaDirectory>().Path / Uri.EscapeDataString(room.ToString())),
            ReplicaRoom.InspectReplica.Instance);

    private async Task<IResult> HistoryAsync(Jid room, int? last)
    {
        if (last is < 0) return Answer.BadRequest("last must not be negative");
        var inspection = await Ask<RoomInspection>(Directory, new InspectRoom(room));
        if (!inspection.Exists) return NoSuchRoom(room);
        var kept = inspection.History;
        var shown = kept.Skip(last is { } count ? Math.Max(0, kept.Count - count) : 0).Select(entry => new HistoryMessageView(
            entry.Timestamp, entry.Nick, entry.SenderBareJid.ToString(), BodyOf(entry.Stanza), entry.StanzaId));
        return Answer.Ok(new RoomHistoryView(room.ToString(), kept.Count, shown.ToList()));
    }

    private async Task<IResult> KickAsync(Jid room, KickRequest kick)
    {
        if (string.IsNullOrWhiteSpace(kick.Nick)) return Answer.BadRequest("nick is required");
        var done = await Ask<AdminKickDone>(Directory, new KickOccupantAsAdmin(room, kick.Nick, kick.Reason));
        return done.Outcome switch
        {
            AdminKickOutcome.Kicked => Answer.Ok(new RoomActionDone(room.ToString(), "kick", kick.Nick)),
            AdminKickOutcome.NoSuchOccupant => Answer.NotFound($"nobody is in {room} as '{kick.Nick}'"),
            _ => NoSuchRoom(room),
        };
    }

    private async Task<IResult> DestroyAsync(Jid room)
    {
        var done = await Ask<AdminDestroyDone>(Directory, new DestroyRoomAsAdmin(room, Reason: null));
        return done.Destroyed ? Answer.Ok(new RoomActionDone(room.ToString(), "destroy", null)) : NoSuchRoom(room);
    }

    /// <summary>
    /// The room's history and the admin's actions live with the room on the primary; a replica holds only what its own
    /// users see. Rather than relaying across the cluster (and serializing room state for it), a replica refers the
    /// operator to the primary.
    /// </summary>
    private Task<IResult> OnPrimary(string given, Func<Jid, Task<IResult>> handle) => Resolving(given, room =>
        _node.Role == NodeRole.Replica
            ? Task.FromResult(Answer.Conflict($"this node is a replica; rooms are managed on the primary node ({_hosts.PrimaryNode?.ToString() ?? "not in view"})"))
            : handle(room));

    private async Task<IResult> Resolving(string given, Func<Jid, Task<IResult>> handle) =>
        RoomJid(given) is { } room ? await Answering(() => handle(room)) : NoSuchRoom(given);

    public static async Task<IResult> Answering(Func<Task<IResult>> handle)
    {
        try
        {
            return await handle();
        }
        catch (AskTimeoutException)
        {
            return Answer.NoAnswerInTime($"the node's actors did not answer within {AskTimeout.TotalSeconds} s");
        }
    }

    /// <summary>A room's full JID, or just its name on this service.</summary>
    private Jid? RoomJid(string given)
    {
        var full = given.Contains('@') ? given : $"{given}@{_node.ServiceDomain}";
        return Jid.TryParse(full, out var jid) && jid.Local is not null && jid.Resource is null && jid.Domain == _node.ServiceDomain
            ? jid
            : null;
    }

    private IReadOnlyList<string> ReplicaHostsOf(RoomInspection inspection) => inspection.Sessions
        .Select(session => session.RealJid.Domain)
        .Distinct()
        .Where(host => _hosts.ReplicaNodeFor(host) is not null)
        .Order(StringComparer.Ordinal)
        .ToList();

    private static IResult NoSuchRoom(object room) => Answer.NotFound($"no room {room}");

    private static string? BodyOf(string stanza) =>
        XElement.Parse(stanza).Element(Ns.Client + "body")?.Value;

    private IActorRef Directory => _registry.Get<RoomDirectory>();

    private static Task<T> Ask<T>(ICanTell actor, object question) => actor.Ask<T>(question, AskTimeout);
}
