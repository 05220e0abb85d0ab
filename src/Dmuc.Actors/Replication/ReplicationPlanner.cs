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
                builders[host] = builder = new HostBatchBuilder(host, room, sessionsBefore, sessionsAfter);
            builder.Add(delivery);
        }
        // A replica must hear of entries and departures even when nothing is delivered there; unchanged sessions have none.
        if (!ReferenceEquals(sessionsBefore, sessionsAfter))
        {
            foreach (var host in sessionsBefore.Hosts.Concat(sessionsAfter.Hosts).Distinct().Where(isReplicaHost))
                if (!builders.ContainsKey(host)) builders[host] = new HostBatchBuilder(host, room, sessionsBefore, sessionsAfter);
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

        public HostBatchBuilder(string host, Jid room, PlannedSessions before, PlannedSessions after)
        {
            _room = room;
            if (ReferenceEquals(before, after))
            {
                // Nobody entered or left: the host's sessions as the room keeps them, built once for each change of them.
                (_entered, _left, _audience) = ([], [], after.OfHost(host));
                return;
            }
            _entered = after.ByRealJid.Where(session => session.Key.Domain == host && !before.ByRealJid.ContainsKey(session.Key)).ToList();
            _left = before.ByRealJid.Where(session => session.Key.Domain == host && !after.ByRealJid.ContainsKey(session.Key)).ToList();
            // Everyone the replica delivers to while this batch runs: entries apply first, departures last.
            _audience = after.OfHost(host).Concat(_left.Select(session => session.Key)).ToHashSet();
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
/// A room's occupant sessions (real full JID → nick) as <see cref="ReplicationPlanner.Split(IReadOnlyList{Delivery}, Func{string, bool}, Jid, PlannedSessions, PlannedSessions, XElement?, DateTimeOffset?)"/>
/// reads them, with each host's sessions as a set, built the first time a plan asks for that host. A room keeps one instance
/// for as long as its sessions do not change (<see cref="PrimaryRoom"/>), so a message to a replica host is planned without
/// going through every session again: with replica hosts, every message scanned the whole room and built a set per host.
/// Not thread-safe (it fills its sets as it is asked): one room's, used on that room's thread.
/// </summary>
public sealed class PlannedSessions(IReadOnlyDictionary<Jid, string> byRealJid)
{
    private readonly Dictionary<string, HashSet<Jid>> _byHost = new(StringComparer.Ordinal);
    private IReadOnlyList<string>? _hosts;

    /// <summary>Never changed while this instance is in use: a new instance is made for each change.</summary>
    public IReadOnlyDictionary<Jid, string> ByRealJid { get; } = byRealJid;

    /// <summary>The hosts with sessions in the room.</summary>
    public IReadOnlyList<string> Hosts => _hosts ??= [.. ByRealJid.Keys.Select(jid => jid.Domain).Distinct()];

    /// <summary>The sessions of <paramref name="host"/>.</summary>
    public IReadOnlySet<Jid> OfHost(string host)
    {
        if (!_byHost.TryGetValue(host, out var sessions))
            _byHost[host] = sessions = ByRealJid.Keys.Where(jid => jid.Domain == host).ToHashSet();
        return sessions;
    }
}
