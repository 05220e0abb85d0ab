using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Splits what a room decided to send into what goes straight out of this node and one batch per replica
/// host. Pure: the room actor calls it, tests call it with made-up hosts.
/// </summary>
public static class ReplicationPlanner
{
    public sealed record Plan(IReadOnlyList<Delivery> Local, IReadOnlyDictionary<string, IReadOnlyList<ReplicaItem>> ByHost);

    /// <param name="deliveries">The decision's deliveries, in order.</param>
    /// <param name="isReplicaHost">Whether a domain is served by another node of the cluster.</param>
    /// <param name="room">The room's bare JID.</param>
    /// <param name="sessionsBefore">Occupant sessions (real full JID → nick) before the command's events.</param>
    /// <param name="sessionsAfter">Occupant sessions after them.</param>
    /// <param name="command">The stanza that caused it all, for the history request of an entering user.</param>
    /// <param name="acceptedAt">When a groupchat message of this command was kept in history, if one was.</param>
    public static Plan Split(
        IReadOnlyList<Delivery> deliveries,
        Func<string, bool> isReplicaHost,
        Jid room,
        IReadOnlyDictionary<Jid, string> sessionsBefore,
        IReadOnlyDictionary<Jid, string> sessionsAfter,
        XElement? command,
        DateTimeOffset? acceptedAt)
    {
        var before = new PlannedSessions(sessionsBefore);
        return Split(deliveries, isReplicaHost, room, before, ReferenceEquals(sessionsBefore, sessionsAfter) ? before : new PlannedSessions(sessionsAfter),
            command, acceptedAt);
    }

    /// <param name="sessionsBefore">Occupant sessions before the command's events; the same instance as
    /// <paramref name="sessionsAfter"/> when the command changed none of them (then nobody entered or left).</param>
    public static Plan Split(
        IReadOnlyList<Delivery> deliveries,
        Func<string, bool> isReplicaHost,
        Jid room,
        PlannedSessions sessionsBefore,
        PlannedSessions sessionsAfter,
        XElement? command,
        DateTimeOffset? acceptedAt)
    {
        isReplicaHost = AskedOncePerDomain(isReplicaHost);
        var changes = SessionChanges.Between(sessionsBefore, sessionsAfter);
        // Null while every delivery so far is local: a room with no replica host's users (most) hands on its decision's own list.
        List<Delivery>? local = null;
        var builders = new Dictionary<string, HostBatchBuilder>();
        for (var i = 0; i < deliveries.Count; i++)
        {
            var delivery = deliveries[i];
            var host = delivery.To.Domain;
            if (!isReplicaHost(host))
            {
                local?.Add(delivery);
                continue;
            }
            if (local is null)
            {
                local = new List<Delivery>(deliveries.Count);
                for (var earlier = 0; earlier < i; earlier++) local.Add(deliveries[earlier]);
            }
            if (!builders.TryGetValue(host, out var builder))
                builders[host] = builder = new HostBatchBuilder(host, room, sessionsAfter, changes);
            builder.Add(delivery);
        }
        // A replica must hear of entries and departures even when nothing is delivered there; unchanged sessions have none.
        if (!ReferenceEquals(sessionsBefore, sessionsAfter))
        {
            foreach (var host in sessionsBefore.Hosts.Concat(sessionsAfter.Hosts).Distinct().Where(isReplicaHost))
                if (!builders.ContainsKey(host)) builders[host] = new HostBatchBuilder(host, room, sessionsAfter, changes);
        }
        if (builders.Count == 0) return new Plan(local ?? deliveries, NoBatches);
        var byHost = new Dictionary<string, IReadOnlyList<ReplicaItem>>();
        foreach (var (host, builder) in builders)
        {
            var items = builder.Build(command, acceptedAt);
            if (items.Count > 0) byHost[host] = items;
        }
        return new Plan(local ?? deliveries, byHost);
    }

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<ReplicaItem>> NoBatches = new Dictionary<string, IReadOnlyList<ReplicaItem>>();

    /// <summary>
    /// <paramref name="isReplicaHost"/> asked once per domain for as long as the answer is used (one decision, one receipt):
    /// the room's answer looks up the cluster's hosts and its own children by a name it builds, and a broadcast or a receipt
    /// asks it for each of its recipients, nearly all of them of one or a few domains — so the last domain asked is checked
    /// first, before any dictionary.
    /// </summary>
    private static Func<string, bool> AskedOncePerDomain(Func<string, bool> isReplicaHost)
    {
        Dictionary<string, bool>? answers = null;
        string? lastDomain = null;
        var lastAnswer = false;
        return domain =>
        {
            if (lastDomain is not null && string.Equals(domain, lastDomain, StringComparison.Ordinal)) return lastAnswer;
            answers ??= new Dictionary<string, bool>(StringComparer.Ordinal);
            if (!answers.TryGetValue(domain, out var replica)) answers[domain] = replica = isReplicaHost(domain);
            (lastDomain, lastAnswer) = (domain, replica);
            return replica;
        };
    }

    private sealed class HostBatchBuilder
    {
        // A broadcast is one stanza instance, so one item however many it reaches.
        private readonly RecipientOrderMerge<XElement> _items = new(ReferenceEqualityComparer.Instance);
        private readonly IReadOnlySet<Jid> _audience;
        private readonly List<KeyValuePair<Jid, string>> _entered;
        private readonly List<KeyValuePair<Jid, string>> _left;
        private readonly Jid _room;

        /// <param name="after">The sessions after the decision: the host's set is built once for each change of them.</param>
        public HostBatchBuilder(string host, Jid room, PlannedSessions after, SessionChanges changes)
        {
            _room = room;
            _entered = changes.Entered.Where(session => session.Key.Domain == host).ToList();
            _left = changes.Left.Where(session => session.Key.Domain == host).ToList();
            // Everyone the replica delivers to while this batch runs: entries apply first, departures last.
            _audience = _left.Count == 0 ? after.OfHost(host) : after.OfHost(host).Concat(_left.Select(session => session.Key)).ToHashSet();
        }

        public void Add(Delivery delivery) => _items.Add(delivery.Stanza, delivery.To);

        public IReadOnlyList<ReplicaItem> Build(XElement? command, DateTimeOffset? acceptedAt)
        {
            var items = _items.Groups.Select(item => Addressed(item.Stanza, item.Recipients) with
            {
                Delay = acceptedAt is not null && IsGroupchatMessage(item.Stanza) ? acceptedAt : null,
            }).ToList();
            foreach (var (jid, nick) in _entered)
                Attach(items, jid, _room.WithResource(nick), item => item with { Enter = new ReplicaEnter(jid, HistoryRequest(command, jid)) });
            foreach (var (jid, nick) in _left)
                Attach(items, jid, _room.WithResource(nick), item => item with { Leave = jid });
            return items;
        }

        /// <summary>
        /// The shortest way to name the recipients: nobody listed when it is every local occupant, the few
        /// left out when that is shorter (a broadcast whose subject gets a self-presence instead), else all.
        /// </summary>
        private ReplicaItem Addressed(XElement stanza, List<Jid> recipients)
        {
            if (!recipients.All(_audience.Contains)) return new ReplicaItem(stanza, recipients);
            var leftOut = _audience.Count - recipients.Count;
            if (leftOut == 0) return new ReplicaItem(stanza, null);
            if (leftOut >= recipients.Count) return new ReplicaItem(stanza, recipients);
            var reached = recipients.ToHashSet();
            return new ReplicaItem(stanza, null, Except: _audience.Where(jid => !reached.Contains(jid)).ToList());
        }

        /// <summary>
        /// Marks the occupant's own presence (from room/nick), as XEP-0282 Listings 2 and 3 do, so the replica
        /// learns the nick from it; when this batch has none, a presence that is delivered to nobody.
        /// </summary>
        private static void Attach(List<ReplicaItem> items, Jid occupant, Jid occupantJid, Func<ReplicaItem, ReplicaItem> mark)
        {
            var from = occupantJid.ToString();
            var index = items.FindIndex(item =>
                item.Stanza.Name.LocalName == "presence" && item.Stanza.Attribute("from")?.Value == from
                && item.Enter is null && item.Leave is null
                && Reaches(item, occupant));
            if (index >= 0)
                items[index] = mark(items[index]);
            else
                items.Add(mark(new ReplicaItem(new XElement(Ns.Client + "presence", new XAttribute("from", from)), [])));
        }

        private static bool Reaches(ReplicaItem item, Jid occupant) =>
            item.Recipients?.Contains(occupant) ?? item.Except?.Contains(occupant) != true;

        private static XElement? HistoryRequest(XElement? command, Jid occupant) =>
            command?.Attribute("from")?.Value == occupant.ToString()
                ? command.Element(Ns.Muc + "x")?.Element(Ns.Muc + "history")
                : null;

        private static bool IsGroupchatMessage(XElement stanza) =>
            stanza.Name.LocalName == "message" && stanza.Attribute("type")?.Value == "groupchat"
            && stanza.Element(Ns.Client + "body") is not null;
    }
}

/// <summary>
/// The sessions a decision added and removed, found once for all the replica hosts of its plan: each host's batch builder
/// went through all the room's sessions, before and after, for every join.
/// </summary>
internal sealed record SessionChanges(IReadOnlyList<KeyValuePair<Jid, string>> Entered, IReadOnlyList<KeyValuePair<Jid, string>> Left)
{
    private static readonly SessionChanges None = new([], []);

    /// <summary>None when <paramref name="before"/> and <paramref name="after"/> are one instance (nobody entered or left).</summary>
    public static SessionChanges Between(PlannedSessions before, PlannedSessions after) =>
        ReferenceEquals(before, after) ? None : new(
            [.. after.ByRealJid.Where(session => !before.ByRealJid.ContainsKey(session.Key))],
            [.. before.ByRealJid.Where(session => !after.ByRealJid.ContainsKey(session.Key))]);
}

/// <summary>
/// A room's occupant sessions (real full JID → nick) as <see cref="ReplicationPlanner.Split(IReadOnlyList{Delivery}, Func{string, bool}, Jid, PlannedSessions, PlannedSessions, XElement?, DateTimeOffset?)"/>
/// reads them, with each host's sessions as a set, built the first time a plan asks for that host. A room keeps one instance
/// for as long as its sessions do not change (<see cref="PrimaryRoom"/>), so a message to a replica host is planned without
/// going through every session again: with replica hosts, every message scanned the whole room and built a set per host.
/// Not thread-safe (it fills its sets as it is asked): one room's, used on that room's thread.
/// </summary>
public sealed class PlannedSessions(IReadOnlyDictionary<Jid, string> byRealJid)
{
    private static readonly IReadOnlySet<Jid> NoSessions = new HashSet<Jid>();
    private Dictionary<string, HashSet<Jid>>? _byHost;
    private IReadOnlyList<string>? _hosts;

    /// <summary>Never changed while this instance is in use: a new instance is made for each change.</summary>
    public IReadOnlyDictionary<Jid, string> ByRealJid { get; } = byRealJid;

    /// <summary>The hosts with sessions in the room.</summary>
    public IReadOnlyList<string> Hosts => _hosts ??= [.. ByHost().Keys];

    /// <summary>The sessions of <paramref name="host"/>.</summary>
    public IReadOnlySet<Jid> OfHost(string host) => ByHost().TryGetValue(host, out var sessions) ? sessions : NoSessions;

    // Every host's set in one pass over the sessions, the first time any is asked: a join asks for each replica host's.
    private Dictionary<string, HashSet<Jid>> ByHost()
    {
        if (_byHost is { } byHost) return byHost;
        byHost = new Dictionary<string, HashSet<Jid>>(StringComparer.Ordinal);
        (string? Domain, HashSet<Jid>? Sessions) last = (null, null);
        foreach (var jid in ByRealJid.Keys)
        {
            if (!string.Equals(jid.Domain, last.Domain, StringComparison.Ordinal))
            {
                if (!byHost.TryGetValue(jid.Domain, out var sessions)) byHost[jid.Domain] = sessions = [];
                last = (jid.Domain, sessions);
            }
            last.Sessions!.Add(jid);
        }
        return _byHost = byHost;
    }
}
