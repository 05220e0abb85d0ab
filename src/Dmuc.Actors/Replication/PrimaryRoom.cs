using System.Collections.Immutable;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// A room on its primary node as pure state: <see cref="RoomState"/> decides, and this adds what replication needs
/// around each decision — replica forwards admitted once and acknowledged (<see cref="RelayedForwards"/>), the
/// outcome of held stanzas and lost forwards (<see cref="HeldStanzaLedger"/>), the netjoin's processing and resync
/// (<see cref="NetjoinPlanner"/>), and the delivery plan (<see cref="ReplicationPlanner"/>). Every method applies the
/// events it decides at once and returns them with what to send; <c>RoomActor</c> only persists them and sends.
/// </summary>
/// <param name="isReplicaHost">Whether a host's users are reached through a replica link rather than this node's server.</param>
/// <param name="tracksSessions">Whether the room has replica hosts at all (without, the planner needs no session lists).</param>
/// <param name="receiptJournalInterval">How often at most a host's receipt is journaled (<see cref="ReceiptJournaling"/>);
/// <see cref="ReplicationSettings.ReceiptJournalInterval"/> by default.</param>
/// <param name="ownHost">The name this node's own server's receipt is kept under (<see cref="OwnHostHandedOver"/>): the host
/// this node serves; the room's domain when it serves none (a node alone, without DMUC).</param>
public sealed class PrimaryRoom(RoomState state, Func<string, bool> isReplicaHost, Func<bool> tracksSessions, TimeSpan? receiptJournalInterval = null,
    string? ownHost = null)
{
    private readonly HeldStanzaLedger _held = new();
    // The parts of a replica's netjoin report received so far, per host, until its last part.
    private readonly Dictionary<string, List<ResyncReplica>> _reportParts = new(StringComparer.Ordinal);
    private readonly ReceiptJournaling _receiptJournaling = new(receiptJournalInterval ?? ReplicationSettings.Default.ReceiptJournalInterval);
    private readonly OwnHostReceipts _ownHostReceipts = new();
    private readonly HostsBehind _hostsBehind = new();

    /// <summary>The name this node's own server's receipt is kept under, beside the replica hosts' (<see cref="RoomState.ReceiptOf"/>).</summary>
    public string OwnHost { get; } = ownHost ?? state.RoomJid.Domain;

    /// <summary>The room's XEP-0045 state; replaced as a whole when the actor recovers from a snapshot.</summary>
    public RoomState State { get; set; } = state;

    public Jid RoomJid => State.RoomJid;

    /// <summary>Each replica host's last receipt (<see cref="Delivered"/>), for inspection.</summary>
    public IReadOnlyList<DeliveryReceipt> Receipts =>
        [.. State.Receipts.Select(receipt => new DeliveryReceipt(RoomJid, receipt.Relay, receipt.LastStanzaId, receipt.Sessions))];

    /// <summary>Processes a command, applies its events at once, and plans who gets what.</summary>
    /// <param name="relayed">The replica forward the command is: the room records it and acknowledges it with what it sends.</param>
    /// <param name="serverBehind">This node's own server is behind on its output: a user's join or message is refused
    /// (<see cref="RoomLoadShedding"/>), as it is while a replica host's is (<see cref="ReplicaServerBehind"/>).</param>
    public Decided Decide(RoomCommand command, RelayedBy? relayed = null, bool serverBehind = false) =>
        Decide(command, relayed, hostHasNoNode: false, Overloaded(serverBehind, command.Now));

    /// <param name="hostHasNoNode">The command lets sessions go because their host has no node (<see cref="HostGone"/>).</param>
    /// <param name="overloaded">A user's join or message is refused (<see cref="RoomLoadShedding"/>). Never in a netjoin: the replica
    /// served what it held there to its users already.</param>
    private Decided Decide(RoomCommand command, RelayedBy? relayed, bool hostHasNoNode, bool overloaded = false)
    {
        var sessionsBefore = SessionsByRealJid();
        var refused = RoomLoadShedding.Refusal(command, overloaded);
        var decision = refused ?? State.Process(command);
        // Whom the room let go without their word, journaled with their leaving (SessionsLetGo): an error from a session the room has
        // (its server answered the room's check, or bounced a stanza) says the session is gone, and its replica knows it now.
        IReadOnlyList<RoomEvent> letGo = hostHasNoNode || IsError(command)
            ? [.. decision.Events.OfType<OccupantSessionLeft>().Select(left => new SessionLetGo(left.Nick, left.RealJid, command.Now, Told: !hostHasNoNode))]
            : [];
        IReadOnlyList<RoomEvent> processed = relayed is null ? [] : [RelayedForwards.Processed(relayed.Host, relayed.Number, decision)];
        if (letGo.Count + processed.Count > 0) decision = decision with { Events = [.. decision.Events, .. letGo, .. processed] };
        foreach (var @event in decision.Events)
            State.Apply(@event);
        var acceptedAt = decision.Events.OfType<HistoryMessageAdded>().Select(e => (DateTimeOffset?)e.Entry.Timestamp).FirstOrDefault();
        var sessionsAfter = SessionsByRealJid();
        var stanza = (command as HandleStanza)?.Stanza;
        var plan = ReplicationPlanner.Split(decision.Deliveries, isReplicaHost, RoomJid, sessionsBefore, sessionsAfter, stanza, acceptedAt);
        return new Decided(command, decision, new Outgoing(plan,
            relayed is null ? null : (relayed.Host, new ForwardAck(relayed.Number.Session, relayed.Number.Number)),
            plan.ByHost.Count == 0 ? null : SplitBounces.For(stanza, plan.ByHost.Keys), SenderHostAmong(plan.ByHost, stanza)),
            plan.Local.Count == 0 ? null : State.NewestKeptStanzaId, RefusedUnderLoad: refused is not null);
    }

    /// <summary>A replica's word on its server's load (<see cref="ServerBehind"/>); its users' stanzas are refused while it holds.</summary>
    public void ReplicaServerBehind(ServerBehind word, DateTimeOffset now) => _hostsBehind.Heard(word, now);

    private bool Overloaded(bool serverBehind, DateTimeOffset now) => serverBehind || _hostsBehind.Any(now);

    /// <summary>
    /// The sender's host, read only with batches to replica hosts (to tell each whether its users saw what was said): like the
    /// bounces, not worked out (two addresses parsed again) for every message of a room without them.
    /// </summary>
    private static string? SenderHostAmong(IReadOnlyDictionary<string, IReadOnlyList<ReplicaItem>> byHost, XElement? stanza) =>
        byHost.Count > 0 && Jid.TryParse(stanza?.Attribute("from")?.Value, out var sender) ? sender.Domain : null;

    /// <summary>
    /// A replica's numbered forward (docs/protocol/netjoin.md §2): processed once, in the replica's order, and
    /// acknowledged with what it caused; a resend is only acknowledged again, and one past a gap waits for the netjoin.
    /// While this node's server or a replica host's is behind (<paramref name="serverBehind"/>, <see cref="ReplicaServerBehind"/>), a join
    /// or a message is answered with wait/resource-constraint instead, still in order and acknowledged (<see cref="RoomLoadShedding"/>).
    /// </summary>
    public RelayedOutcome Relayed(HandleStanza command, RelayedBy relayed, bool serverBehind = false)
    {
        var (host, number) = (relayed.Host, relayed.Number);
        _held.ForwardsAcknowledged(host, number.Session, number.Acknowledged);
        var (verdict, upTo) = RelayedForwards.Admit(State, host, number);
        switch (verdict)
        {
            case ForwardVerdict.Duplicate:
                return new RelayedOutcome(verdict, upTo, AcknowledgedAgain: PlanOf([]) with { Ack = (host, new ForwardAck(number.Session, upTo)) });
            case ForwardVerdict.Gap:
                return new RelayedOutcome(verdict, upTo);
        }
        var decided = Decide(command, relayed, hostHasNoNode: false, Overloaded(serverBehind, command.Now));
        _held.ForwardProcessed(host, number.Session, number.Number, decided.Decision, RoomJid);
        return new RelayedOutcome(verdict, upTo, decided);
    }

    /// <summary>
    /// A replica is back from a netsplit (docs/protocol/netjoin.md §3): first what it forwarded before the split and never
    /// heard back about, then what its users did alone, each processed as sent then; then the one resync batch with what
    /// it missed, to be sent after everything those decisions send.
    /// </summary>
    /// <remarks>
    /// A report in parts (<see cref="ResyncReplica.InParts"/>) is gathered until its last part. A part that does not follow
    /// the last one gathered (one was lost in a cut) drops the report: its netjoin fails, and the replica's next one
    /// reports everything again. Returns null until the report is whole.
    /// </remarks>
    public NetjoinOutcome? Netjoin(ResyncReplica part, DateTimeOffset now)
    {
        var parts = _reportParts.GetValueOrDefault(part.ReplicaHost);
        var follows = parts is [.., var last] && last.NetjoinId == part.NetjoinId && last.Part + 1 == part.Part;
        if (!follows)
        {
            _reportParts.Remove(part.ReplicaHost);
            if (part.Part != 1) return null;
            _reportParts[part.ReplicaHost] = parts = [];
        }
        parts!.Add(part);
        if (part.More) return null;
        _reportParts.Remove(part.ReplicaHost);
        return ProcessNetjoin(parts.Count == 1 ? part : ResyncReplica.Joined(parts), now);
    }

    private NetjoinOutcome ProcessNetjoin(ResyncReplica resync, DateTimeOffset now)
    {
        var host = resync.ReplicaHost;
        var decisions = new List<Decided>();
        var warnings = new List<string>();
        // Those already processed in an earlier netjoin whose resync the replica never got are skipped.
        var heldToProcess = _held.ToProcess(resync);
        if (resync.Unacknowledged is { } unacked)
        {
            for (var i = 0; i < unacked.Stanzas.Count; i++)
            {
                var number = new ForwardNumber(unacked.Session, unacked.First + i, unacked.First - 1);
                var (verdict, upTo) = RelayedForwards.Admit(State, host, number);
                if (verdict == ForwardVerdict.Duplicate) continue;
                if (verdict == ForwardVerdict.Gap)
                {
                    warnings.Add($"the netjoin of {host} reports forwards from {number.Number}, after {upTo}");
                    break;
                }
                var (stanza, sentAt) = (unacked.Stanzas[i].Stanza, unacked.Stanzas[i].ServedAt);
                var fromHost = SentFrom(stanza, host, out var sender);
                if (!fromHost) warnings.Add($"refused a forward from {sender?.ToString() ?? "(nobody)"} in the netjoin of {host}");
                // A forward from elsewhere still takes its number, as an empty message the room ignores, so the numbers stay in step.
                // The replica served its unacknowledged forwards to its users as it found the split: as held ones, they are their sender's.
                var decided = Decide(new HandleStanza(fromHost ? stanza : new XElement(Ns.Client + "message"), now, sentAt < now ? sentAt : now,
                    Resent: unacked.Stanzas[i].Resent, SpokenAs: fromHost ? State.LetGo.SpokenFor(sender!, sentAt) : null), new RelayedBy(host, number));
                _held.ForwardProcessed(host, number.Session, number.Number, decided.Decision, RoomJid);
                decisions.Add(decided);
            }
        }
        foreach (var (number, held) in heldToProcess)
        {
            if (!SentFrom(held.Stanza, host, out var sender))
            {
                warnings.Add($"refused a held stanza from {sender?.ToString() ?? "(nobody)"} in the netjoin of {host}");
                continue;
            }
            // One the replica's server handed again may have reached the room through the node's previous life (Resends drops it then).
            // The server's delay on a stanza it handed again dated it (HeldStanza.ServedAt); only the room speaks of delays to its users.
            var stanza = held.Resent ? StreamAckProtocol.FirstHanded(held.Stanza, RoomJid.Domain).Stanza : held.Stanza;
            var decided = Decide(new HandleStanza(stanza, now, held.ServedAt < now ? held.ServedAt : now, Resent: held.Resent,
                SpokenAs: State.LetGo.SpokenFor(sender!, held.ServedAt)));
            _held.Processed(host, number, decided.Decision);
            decisions.Add(decided);
        }
        var told = State.LetGo.NotToldOf(host);
        // From this resync on, the host's replica knows they are out.
        var toldNow = told.Count == 0 ? null : new LetGoTold(host, now);
        if (toldNow is not null) State.Apply(toldNow);
        var resyncBatch = new ReplicaLink.SendResync(resync.NetjoinId, NetjoinPlanner.Resync(State, host, resync, _held.OutcomeFor(host), State.ReceiptOf(host), told,
                State.Departures.Since(ReceiptTimeOf(host))),
            resync.LastSequence, resync.Unacknowledged is { } reported ? RelayedForwards.AckFor(State, host, reported.Session) : null);
        return new NetjoinOutcome(decisions, resyncBatch, warnings, toldNow);
    }

    /// <summary>
    /// A replica's receipt (docs/protocol/netjoin.md §5): kept, for the sessions still in the room, until the next, so that
    /// should the replica's node crash, the netjoin of its next incarnation sends them only what came after. Journaled now
    /// and then (<see cref="ReceiptJournaling"/>), so that the room still has it after its own restart; when not now,
    /// <see cref="ReceiptDueAt"/> says when.
    /// </summary>
    /// <returns>The event, applied; the actor journals it when it is durable.</returns>
    public RelayDelivered Delivered(DeliveryReceipt receipt, DateTimeOffset now)
    {
        var delivered = new RelayDelivered(receipt.ReplicaHost, receipt.LastStanzaId, receipt.Sessions,
            Journaled: _receiptJournaling.JournalsNow(receipt.ReplicaHost, now));
        State.Apply(delivered);
        return delivered;
    }

    /// <summary>When the newest receipt of <paramref name="host"/>, not journaled yet, is to be (<see cref="JournalReceipt"/>); null if none waits.</summary>
    public DateTimeOffset? ReceiptDueAt(string host) => _receiptJournaling.DueAt(host);

    /// <summary>
    /// The newest receipt of <paramref name="host"/> as an event to journal, if it was not journaled yet: once it is due, and
    /// when the host's link splits (its node may be gone, and the room may go down before it is back).
    /// </summary>
    public RelayDelivered? JournalReceipt(string host, DateTimeOffset now)
    {
        if (!_receiptJournaling.Waits(host)) return null;
        _receiptJournaling.Journaled(host, now);
        return JournaledReceiptOf(host);
    }

    /// <summary>
    /// The waiting receipts that go with a write the room makes now (<see cref="ReceiptJournaling.RidesAlong"/>), as events
    /// to journal in it: a busy room's journaled receipts stay a message or two behind without writes of their own.
    /// </summary>
    public IReadOnlyList<RelayDelivered> ReceiptsRidingAlong(DateTimeOffset now) =>
        _receiptJournaling.RidesAlong(now) is { Count: > 0 } hosts ? [.. hosts.Select(JournaledReceiptOf).OfType<RelayDelivered>()] : [];

    private RelayDelivered? JournaledReceiptOf(string host)
    {
        if (State.ReceiptOf(host) is not { } receipt) return null;
        var delivered = new RelayDelivered(host, receipt.LastStanzaId, receipt.Sessions, Journaled: true);
        State.Apply(delivered);
        return delivered;
    }

    /// <summary>
    /// The decision's deliveries to this node's server went to the sink (docs/protocol/netjoin.md §5, the own host's receipt):
    /// the receipt to check against the sink (<see cref="Component.IStanzaSink.AllWritten"/>) now, up to the newest message the
    /// room kept as it decided (an entrant's history brings it too); or null: nothing new since the last one handed over, or
    /// a check is under way and this one waits for it.
    /// </summary>
    public DeliveryReceipt? OwnHostHandedOver(Decided decided) =>
        decided.NewestKeptLocally is { } newest && _ownHostReceipts.HandedOver(newest) is { } stanzaId ? OwnHostReceipt(stanzaId) : null;

    /// <summary>
    /// A check of the own host's receipt ended: if the sink's stream took everything, it is the own host's receipt now, kept
    /// and journaled like a replica host's (<see cref="Delivered"/>); and the receipt of the newest message handed over
    /// meanwhile, to check next. A receipt the stream could not confirm is dropped: the next message's check covers it.
    /// </summary>
    public (RelayDelivered? Delivered, DeliveryReceipt? CheckNext) OwnHostChecked(DeliveryReceipt receipt, bool written, DateTimeOffset now)
    {
        var delivered = written ? Delivered(receipt, now) : null;
        return (delivered, _ownHostReceipts.CheckEnded() is { } next ? OwnHostReceipt(next) : null);
    }

    /// <summary>
    /// Whether this node's server's sessions may have missed kept messages (docs/protocol/netjoin.md §5): the room has some of
    /// them in, and kept messages after the own host's last journaled receipt. Only then is the server asked what each session
    /// got (<see cref="ResendToOwnHost"/>). Never without a receipt (a room from before them).
    /// </summary>
    public bool OwnHostMayHaveMissed =>
        State.ReceiptOf(OwnHost) is { } receipt && receipt.LastStanzaId != State.NewestKeptStanzaId && OwnHostSessions().Count > 0;

    /// <summary>
    /// What a room recovered from its journal sends this node's server's sessions first (docs/protocol/netjoin.md §5): each
    /// session the kept messages after the last one its server says it handed that session (<paramref name="serverSays"/>,
    /// docs/protocol/delivered.md: exactly what it missed); a session the server does not name, or names with a message the
    /// room no longer keeps, and every session when the server cannot say (null), every kept message after the own host's last
    /// journaled receipt: the node may have died between journaling them and handing them over, and those it did hand over
    /// since that receipt come again (at least once; a client drops them by stanza-id). Delayed (XEP-0203) with their
    /// stanza-id (XEP-0359) as history is, in the room's order. Nothing without a receipt (a room from before them).
    /// </summary>
    public IReadOnlyList<Delivery> ResendToOwnHost(LastDelivered? serverSays)
    {
        if (!OwnHostMayHaveMissed) return [];
        var (afterReceipt, _) = State.HistoryAfter(State.ReceiptOf(OwnHost)!.LastStanzaId);
        var ids = afterReceipt.Select(kept => ReplicaRoomState.StanzaIdOf(kept.Message, RoomJid)).ToList();
        // Per session, the position in afterReceipt of the last message it got: -1, the receipt's, when the server does not say.
        var sessions = OwnHostSessions().Select(session => (Session: session, Got: serverSays?.Of(session) is { } got ? ids.LastIndexOf(got) : -1)).ToList();
        var deliveries = new List<Delivery>();
        for (var position = 0; position < afterReceipt.Count; position++)
            deliveries.AddRange(sessions.Where(session => session.Got < position).Select(session => new Delivery(session.Session, afterReceipt[position].Message)));
        return deliveries;
    }

    private DeliveryReceipt OwnHostReceipt(string stanzaId) => new(RoomJid, OwnHost, stanzaId, OwnHostSessions());

    /// <remarks>
    /// Behind a server that hands the room each message alone (ejabberd), the room checks this receipt for nearly every
    /// message: where this node's server has one domain, its sessions are the room's list for that domain, kept until who is
    /// in the room changes; only several domains are merged again, in the room's order.
    /// </remarks>
    private IReadOnlyList<Jid> OwnHostSessions()
    {
        var ownDomains = State.SessionJidsByDomain.Where(domain => !isReplicaHost(domain.Key)).ToList();
        if (ownDomains.Count <= 1) return ownDomains.Count == 0 ? [] : ownDomains[0].Value;
        var own = ownDomains.Select(domain => domain.Key).ToHashSet();
        return [.. State.SessionJids.Where(session => own.Contains(session.Domain))];
    }

    /// <summary>
    /// Whether a replica node served <paramref name="host"/> for this room: it sent the room receipts (journaled, so a
    /// recovered room knows). A restarted primary names each replica node a moment after it rejoined, one by one, and a host
    /// with neither a named node nor a link was taken for one without a Dmuc node, whose users are reached through this node's
    /// own server: the first netjoins' decisions sent the others' copies there, and its bounces (s2s off: not-allowed) reached
    /// each message's sender after its echo. Such a host's copies go to its link instead, which holds them for its netjoin.
    /// </summary>
    public bool WasServedByReplica(string host) => host != OwnHost && State.ReceiptOf(host) is not null;

    // The sessions the room recovered from its journal (Recovered): no link of this life told their hosts' replicas of them.
    private IReadOnlySet<Jid> _recoveredSessions = new HashSet<Jid>();

    /// <summary>The room recovered <see cref="State"/> from its journal: the sessions in it now are from an earlier life.</summary>
    public void Recovered() => _recoveredSessions = State.SessionJids.ToHashSet();

    /// <summary>
    /// Whether the room has users of <paramref name="host"/> it recovered from its journal (docs/protocol/netjoin.md §5): a link to that
    /// host started now numbers its batches from 1, and a replica whose node restarted too knows none of them. Such a link says so
    /// (<see cref="ReplicaLinkState.UsersBeforeLink"/>), and that replica netjoins first and relearns them. Not for a host whose users
    /// all entered in this life, through the link: a first entrant's host pays no netjoin.
    /// </summary>
    public bool HasUsersFromBefore(string host) =>
        _recoveredSessions.Count > 0 && State.SessionJidsByDomain.TryGetValue(host, out var sessions) && sessions.Any(_recoveredSessions.Contains);

    /// <summary>
    /// The replica hosts whose users the room recovered from its journal (<see cref="HasUsersFromBefore"/>). Their replicas must
    /// relearn them whether or not anyone speaks: in a quiet room whose primary and replica nodes both restarted, nothing else
    /// would tell the replica's next life of them, and those gone meanwhile would stay (docs/protocol/netjoin.md §5).
    /// </summary>
    public IEnumerable<string> HostsWithUsersFromBefore() => _recoveredSessions.Count == 0
        ? []
        : State.SessionJidsByDomain.Where(host => host.Key != OwnHost && host.Value.Any(_recoveredSessions.Contains)).Select(host => host.Key);

    /// <summary>A replica did not take an occupant in (§4.5): for the room, that occupant has left.</summary>
    public Decided? EnterRefused(EnterRefused refused, DateTimeOffset now)
    {
        var session = State.Sessions.FirstOrDefault(s => s.RealJid == refused.Occupant);
        if (session is null || refused.Occupant.Domain != refused.ReplicaHost) return null;
        return Decide(new HandleStanza(UnavailableFrom(session), now));
    }

    /// <summary>
    /// A replica host's node left the cluster for good: its occupants leave, as if each had sent unavailable presence, so
    /// that nobody elsewhere keeps seeing them.
    /// </summary>
    /// <remarks>
    /// Nobody can tell those occupants now: the room's word to them goes through their host's node. A new incarnation of that
    /// node knows nothing of them, so they are remembered (<see cref="SessionLetGo"/>, journaled), and its netjoin's resync tells
    /// them they were removed (333).
    /// </remarks>
    public IReadOnlyList<Decided> HostGone(string host, DateTimeOffset now) =>
        [.. State.Sessions.Where(session => session.RealJid.Domain == host).ToList()
            .Select(session => Decide(new HandleStanza(UnavailableFrom(session), now), relayed: null, hostHasNoNode: true))];

    private static bool IsError(RoomCommand command) => command is HandleStanza { Stanza: var stanza } && (string?)stanza.Attribute("type") == "error";

    /// <summary>Deliveries that change no sessions, split into local ones and one batch per replica host.</summary>
    public Outgoing PlanOf(IReadOnlyList<Delivery> deliveries)
    {
        var sessions = SessionsByRealJid();
        return new Outgoing(ReplicationPlanner.Split(deliveries, isReplicaHost, RoomJid, sessions, sessions, command: null, acceptedAt: null));
    }

    /// <summary>When the room accepted the message <paramref name="host"/>'s last receipt names, if it still keeps it.</summary>
    private DateTimeOffset? ReceiptTimeOf(string host) =>
        State.ReceiptOf(host)?.LastStanzaId is { } last ? State.History.LastOrDefault(entry => entry.StanzaId == last)?.Timestamp : null;

    private static bool SentFrom(XElement stanza, string host, out Jid? sender) =>
        Jid.TryParse(stanza.Attribute("from")?.Value, out sender) && sender.Domain == host;

    private XElement UnavailableFrom(OccupantSessionView session) =>
        new(Ns.Client + "presence", new XAttribute("type", "unavailable"),
            new XAttribute("from", session.RealJid.ToString()), new XAttribute("to", RoomJid.WithResource(session.Nick).ToString()));

    // Listed once for each change of the sessions, not for each decision: with replica hosts, every message was planned with a
    // fresh list of all the room's sessions and every join with two (9 % of the primary's CPU in a join of 500 over three
    // hosts). Keyed by the room's own immutable map of them, which is replaced whenever a session comes, goes or changes nick;
    // the same instance before and after a decision tells the planner nobody entered or left, and keeps each host's set.
    private (IReadOnlyDictionary<Jid, string> Of, PlannedSessions Sessions)? _sessions;

    // This room's own: a PlannedSessions fills its sets as plans ask, so it is never shared between rooms (threads).
    private readonly PlannedSessions _noSessions = new(ImmutableDictionary<Jid, string>.Empty);

    private PlannedSessions SessionsByRealJid()
    {
        if (!tracksSessions()) return _noSessions;
        if (_sessions is not { } listed || !ReferenceEquals(listed.Of, State.NickByRealJid))
            // Without a view per session: its affiliation, looked up for every session at every join, was 9 % of the primary's CPU
            // in a join of 500 over three hosts.
            _sessions = listed = (State.NickByRealJid, new PlannedSessions(State.SessionNicks.ToDictionary()));
        return listed.Sessions;
    }
}

/// <summary>One command's decision, already applied, and what it sends.</summary>
/// <param name="NewestKeptLocally">When the decision sends this node's server anything: the newest message the room kept as it
/// decided, which that server has once this decision's deliveries and those before them are written (<see cref="PrimaryRoom.OwnHostHandedOver"/>).</param>
/// <param name="RefusedUnderLoad">The decision only answers the sender that a server is behind (<see cref="RoomLoadShedding"/>).</param>
public sealed record Decided(RoomCommand Command, Decision Decision, Outgoing Outgoing, string? NewestKeptLocally = null, bool RefusedUnderLoad = false);

/// <summary>What one decision sends: the plan, the acknowledgement of the forward it processed, and the bounces should a batch be withheld.</summary>
/// <param name="SenderHost">The host of the user whose stanza this decision answers, if any: that host's users saw what they said themselves.</param>
public sealed record Outgoing(ReplicationPlanner.Plan Plan, (string Host, ForwardAck Ack)? Ack = null,
    IReadOnlyDictionary<string, IReadOnlyList<Delivery>>? Bounces = null, string? SenderHost = null)
{
    public bool IsEmpty => Plan.Local.Count == 0 && Plan.ByHost.Count == 0 && Ack is null;
}

/// <summary>What came of a replica's numbered forward.</summary>
/// <param name="UpTo">The last of the replica's forwards the room has processed.</param>
/// <param name="Decided">The room's decision, when it processed the forward.</param>
/// <param name="AcknowledgedAgain">For a resend: only the acknowledgement.</param>
public sealed record RelayedOutcome(ForwardVerdict Verdict, long UpTo, Decided? Decided = null, Outgoing? AcknowledgedAgain = null);

/// <summary>A netjoin's decisions in order, then the resync batch to send behind them; <paramref name="Warnings"/> for the log.</summary>
/// <param name="Told">That the resync tells the host of the sessions let go while it had no node: applied, to journal before the resync goes.</param>
public sealed record NetjoinOutcome(IReadOnlyList<Decided> Decisions, ReplicaLink.SendResync Resync, IReadOnlyList<string> Warnings, LetGoTold? Told = null);
