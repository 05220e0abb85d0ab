using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a replica keeps of one room (XEP-0282 §4.1): the room roster, its local occupants, the history,
/// and which local users really asked to be in the room; during a netsplit (§4.11.1), what its users did
/// alone, for the netjoin; its forwards not yet acknowledged (<see cref="ForwardWindow"/>), its half of a netjoin
/// (<see cref="ReplicaSync"/>), the stanzas waiting for one, and its receipts (<see cref="ReceiptPacing"/>). Pure and event-shaped:
/// <see cref="Process"/> takes one command, changes nothing and returns a <see cref="ReplicaOutcome"/>, its events and what to send;
/// <see cref="Apply(ReplicaRoomEvent)"/> alone changes the state. The replica room actor hands each command to <see cref="Handle"/>
/// and sends what comes out.
/// </summary>
/// <param name="serving">What it serves its users itself during a split; <see cref="SplitServing.Default"/> if null.</param>
/// <param name="forwardSession">Names this life of the replica for the room's count of its forwards; a new one if null.</param>
public sealed class ReplicaRoomState(Jid room, string ownHost, int maxHistory = 100, SplitServing? serving = null, string? forwardSession = null)
{
    /// <summary>What a replica user hears when the room cannot take their stanza during a netsplit.</summary>
    public const string SplitErrorText = "the room is split from its primary; try again shortly";

    private readonly SplitServing _serving = serving ?? SplitServing.Default;

    private readonly HashSet<Jid> _askedToBeIn = [];
    private readonly Dictionary<Jid, string> _localOccupants = new();
    private readonly SortedDictionary<string, RosterEntry> _roster = new(StringComparer.Ordinal);
    // Each occupant's last presence the primary sent, kept as its link keeps it, to send again when a batch names it (an entrant's roster).
    private readonly KeptPresences _kept = new(room);
    private readonly LinkedList<ReplicaHistoryEntry> _history = new();
    private readonly List<HeldStanza> _heldDuringSplit = [];
    // Occupants of other hosts the local users were shown away (MarkOthersAway), until the netjoin shows them as they are.
    private readonly HashSet<string> _shownAway = new(StringComparer.Ordinal);
    // Own host's users a netjoin resync brought that this replica did not know (its node restarted and kept nothing):
    // taken provisionally, pinged from the room, and given what the room sends them only once the ping proves them there.
    private readonly Dictionary<Jid, Unconfirmed> _unconfirmed = new();
    private long _checks;
    private long _probes;
    // Until its first netjoin's resync is complete (or it applies an ordinary batch), this replica is a new incarnation that
    // knows nobody: only then is an unknown own host's user in a resync one it forgot. Later, an unknown one is one it let
    // go itself (a kick or leave served during a split that the room did not take), who must stay out.
    private bool _freshIncarnation = true;
    // What this node's server said it last handed each session of the room, if it could say (docs/protocol/delivered.md).
    private Component.LastDelivered? _ownServerSaid;
    private readonly ForwardWindow _forwards = new(forwardSession ?? Guid.NewGuid().ToString("N")[..12]);
    private readonly ReceiptPacing _receipts = new();
    // Local users' stanzas that arrived while a netjoin was under way, waiting for its outcome (linked, or split again).
    private readonly List<StanzaWaitingForNetjoin> _waitingForNetjoin = [];
    // The messages shown to the local users during the split (room/nick, id), whose copies the netjoin's resync brings: kept, not delivered.
    private readonly HashSet<(string From, string IdOrBody)> _seenHere = [];
    private ReplicaSync? _sync;

    private sealed record Unconfirmed(string CheckId, List<XElement> Held);

    public Jid Room => room;
    /// <summary>The service's own address has no room state to keep in step: it is never split, and sends no receipts.</summary>
    public bool KeepsInStep => Sync.KeepsInStep;
    /// <summary>The netjoin under way, whose resync alone the replica takes; null when none is.</summary>
    public string? NetjoinId => Sync.NetjoinId;
    /// <summary>Forwards the room has not acknowledged yet, and since when the oldest of them waits (null: none does).</summary>
    public int UnacknowledgedForwards => _forwards.Count;
    public DateTimeOffset? OldestForwardSentAt => _forwards.OldestSentAt;
    /// <summary>Local users' stanzas waiting for the netjoin under way.</summary>
    public IReadOnlyList<XElement> WaitingForNetjoin => [.. _waitingForNetjoin.Select(waiting => waiting.Stanza)];
    public long LastSequence { get; private set; }
    /// <summary>This replica has been in step with the room: it applied a batch, or a netjoin's whole resync. Until then it knows nobody the room had.</summary>
    public bool BeenInStep => !_freshIncarnation;
    /// <summary>The XEP-0359 id of the newest message of the room's history this replica received.</summary>
    public string? LastStanzaId { get; private set; }
    public IReadOnlyDictionary<Jid, string> LocalOccupants => _localOccupants;
    /// <summary>Nick → how the occupant was last announced.</summary>
    public IReadOnlyDictionary<string, RosterEntry> Roster => _roster;
    public IEnumerable<ReplicaHistoryEntry> History => _history;
    /// <summary>Local users' stanzas served here during a netsplit, oldest first, still to reach the primary.</summary>
    public IReadOnlyList<HeldStanza> HeldDuringSplit => _heldDuringSplit;
    /// <summary>The number of the first of <see cref="HeldDuringSplit"/>; held stanzas are numbered from 1.</summary>
    public long FirstHeldNumber { get; private set; } = 1;
    /// <summary>The ids of the session checks still waiting for an answer (<see cref="SessionCheckTimedOut"/> ends one).</summary>
    public IReadOnlyCollection<string> PendingChecks => _unconfirmed.Values.Select(pending => pending.CheckId).ToHashSet();

    /// <summary>
    /// What this replica's receipt says now (<see cref="DeliveryReceipt"/>): every local occupant but those whose session is
    /// still being checked (what the room sends them waits here) was sent everything up to <see cref="LastStanzaId"/>.
    /// </summary>
    public DeliveryReceipt Receipt() => new(room, ownHost, LastStanzaId,
        _localOccupants.Keys.Where(occupant => !_unconfirmed.ContainsKey(occupant)).OrderBy(occupant => occupant.ToString(), StringComparer.Ordinal).ToList());

    /// <summary>
    /// The receipt to write now; null while one is written or paused after (a busy room's usual case, checked before the receipt is
    /// built), or when it would say nothing new, or speak of nobody.
    /// </summary>
    public DeliveryReceipt? ReceiptDue() => _receipts.Idle ? _receipts.Due(Receipt()) : null;

    /// <summary>
    /// Whether the replica still holds this local user's stanza (this element) for the primary: a forward not acknowledged, a
    /// stanza waiting for the netjoin under way, or one served during a split that the netjoin has not yet brought to the room.
    /// </summary>
    public bool Holds(XElement stanza) => _forwards.Holds(stanza) || _waitingForNetjoin.Exists(waiting => ReferenceEquals(waiting.Stanza, stanza))
        || _heldDuringSplit.Exists(held => ReferenceEquals(held.Stanza, stanza));

    private ReplicaSync Sync => _sync ??= new ReplicaSync(this);

    /// <summary>What one command does: its events and what to send. Changes nothing.</summary>
    public ReplicaOutcome Process(ReplicaRoomCommand command) => command switch
    {
        LocalStanzaArrived arrived => FromLocalUser(arrived),
        BatchFromPrimary batch => FromPrimary(batch),
        AcknowledgementFromPrimary acknowledgement => HeardAcrossSplit(acknowledgement.Link)
            ? Acknowledged(acknowledgement.Ack).FollowedBy(NetjoinStarting(null))
            : Acknowledged(acknowledgement.Ack),
        KeepaliveFromPrimary keepalive => HeardAcrossSplit(keepalive.Link) ? NetjoinStarting(null)
            : Sync.OutOfStep(keepalive.SentUpTo, keepalive.Link, keepalive.UsersBeforeLink) is { } why ? NetjoinStarting(why) : ReplicaOutcome.Nothing,
        NetjoinRequested requested => KeepsInStep && requested.Link != LinkState.Rejoining ? NetjoinStarting(null) : ReplicaOutcome.Nothing,
        PrimaryNodeLeft left => KeepsInStep && (left.Link != LinkState.Linked || UnacknowledgedForwards > 0)
            ? NetjoinStarting($"a primary-capable node left the cluster ({left.Link}, {UnacknowledgedForwards} forwards unacknowledged)")
            : ReplicaOutcome.Nothing,
        LinkSplit split => SplitFound().FollowedBy(ServedAtSplit(split.Now)).FollowedBy(ReplicaOutcome.Of(NetjoinAbandoned.Instance))
            .FollowedBy(Released(LinkState.Split, split.Now)),
        SessionCheckTimedOut timedOut => CheckUnanswered(timedOut),
        ReceiptWriteEnded ended => ReceiptEnded(ended),
        ReceiptPauseOver => ReplicaOutcome.Of(ReceiptPauseEnded.Instance),
        OwnServerAnswered { Said: { } said } => ReplicaOutcome.Of(new OwnServerSaid(said)),
        OwnServerAnswered => ReplicaOutcome.Nothing,
        LocalSessionsCheckDue => LocalSessionsProbe(),
        NodeStopping => Stopping(),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a command to a replica's room"),
    };

    /// <summary>
    /// Processes a command and applies what it decided, then each command that follows from it (<see cref="ReplicaOutcome.Then"/>) the
    /// same way, and then takes the receipt if one is due; returns all of it as one outcome, for sending.
    /// </summary>
    public ReplicaOutcome Handle(ReplicaRoomCommand command)
    {
        var decided = Apply(Process(command));
        var outcome = decided with { Then = [] };
        foreach (var next in decided.Then) outcome = outcome.FollowedBy(Handle(next));
        var linkAfter = outcome.Resync == ResyncStep.NetjoinComplete ? LinkState.Linked : outcome.Netjoin is not null ? LinkState.Rejoining : command.Link;
        if (linkAfter != LinkState.Linked || !KeepsInStep || ReceiptDue() is not { } receipt) return outcome;
        return outcome.FollowedBy(Apply(ReplicaOutcome.Of(new ReceiptWriting(receipt)) with { ReceiptToWrite = receipt }));
    }

    /// <summary>Anything from the primary across a split link means it is back: our half of the netjoin starts.</summary>
    private bool HeardAcrossSplit(LinkState link) => KeepsInStep && link == LinkState.Split;

    /// <summary>
    /// Our half of the netjoin: what our users did alone and what we have, in one report the primary answers with one resync batch.
    /// Until then our users' stanzas wait, and batches are ignored (the resync covers them). The primary may have restarted and
    /// forgotten the last receipt: once in step again, it is sent anew.
    /// </summary>
    private ReplicaOutcome NetjoinStarting(string? why)
    {
        var started = Sync.Netjoin(ownHost, _forwards.Session, _forwards.Report());
        return ReplicaOutcome.Of(started, ReceiptsToBeSentAnew.Instance) with { Netjoin = started.Report, NetjoinWhy = why };
    }

    /// <summary>The room processed our forwards up to <paramref name="ack"/>; another life's acknowledgement is not ours.</summary>
    private ReplicaOutcome Acknowledged(ForwardAck ack) =>
        ack.Session == _forwards.Session ? ReplicaOutcome.Of(new ForwardsAcknowledgedUpTo(ack)) : ReplicaOutcome.Nothing;

    /// <summary>
    /// A local user's stanza: the answer to the room's check of a user it relearnt is the replica's own (the primary never asked);
    /// anything else goes to the room as the link allows.
    /// </summary>
    private ReplicaOutcome FromLocalUser(LocalStanzaArrived arrived) =>
        CheckAnswered(arrived) ?? (arrived.ServedBefore && KeepsInStep ? HeldAgain(arrived) : ToRoom(arrived.Stanza, arrived.Link, arrived.Now, arrived.Resent));

    /// <summary>
    /// A stanza the node's previous life served its users during a split, handed again after that life ended (stream-ack.md §8): its
    /// users had it, so it is not served again; it is held for the room, as that life held it, and a netjoin brings it there (at once
    /// when linked; after the one under way otherwise, <see cref="NetjoinEnded"/>). It is dated when the server first handed it, as
    /// that life served it then: the room takes it from a sender it let go only after that (docs/protocol/netjoin.md §7).
    /// </summary>
    private ReplicaOutcome HeldAgain(LocalStanzaArrived arrived)
    {
        var servedAt = Component.StreamAckProtocol.FirstHanded(arrived.Stanza, room.Domain).HandedAt ?? arrived.Now;
        var held = ReplicaOutcome.Of(new StanzaHeldDuringSplit(new HeldStanza(arrived.Stanza, servedAt < arrived.Now ? servedAt : arrived.Now, Resent: true)));
        return arrived.Link == LinkState.Linked ? held with { Then = [new NetjoinRequested(LinkState.Linked)] } : held;
    }

    /// <summary>
    /// A stanza for the room: forwarded while linked (numbered and kept until the room acknowledges it, so that one lost in a cut is
    /// resent at the netjoin), waiting while a netjoin is under way, served here while split.
    /// </summary>
    /// <param name="resent">The server handed it again: whatever brings it to the room says so (the forward, the netjoin's report).</param>
    private ReplicaOutcome ToRoom(XElement stanza, LinkState link, DateTimeOffset now, bool resent)
    {
        switch (link)
        {
            case LinkState.Rejoining:
                return ReplicaOutcome.Of(new StanzaWaitingForNetjoin(stanza, resent));
            case LinkState.Split when resent:
                // The node's previous life may have forwarded it, and the room answered it: only the room can tell (it drops what it
                // processed), so it waits for the link rather than being served a second time.
                return ReplicaOutcome.Of(new StanzaWaitingForNetjoin(stanza, Resent: true));
            case LinkState.Split:
                return ServedDuringSplit(stanza, now);
        }
        var requested = EntryRequests(stanza);
        if (!KeepsInStep) return requested with { Forwards = [new PrimaryForward(stanza, null, resent)] };
        return requested with { Events = [.. requested.Events, new StanzaForwarded(stanza, now, resent)], Forwards = [new PrimaryForward(stanza, _forwards.Next, resent)] };
    }

    /// <summary>The netjoin ended (the link is now <paramref name="link"/>): the stanzas that waited for it go their way, in order.</summary>
    private ReplicaOutcome Released(LinkState link, DateTimeOffset now) => _waitingForNetjoin.Count == 0
        ? ReplicaOutcome.Nothing
        : ReplicaOutcome.Of(WaitingStanzasReleased.Instance) with
        {
            Then = [.. _waitingForNetjoin.Select(waiting => new LocalStanzaArrived(waiting.Stanza, link, now, waiting.Resent))],
        };

    /// <summary>
    /// The netjoin's resync is complete. Stanzas held after its report was made (served by the node's previous life, handed again
    /// meanwhile: <see cref="HeldAgain"/>) reach the room by another netjoin, before those that waited, which keep waiting; otherwise
    /// those go their way now.
    /// </summary>
    private ReplicaOutcome NetjoinEnded(DateTimeOffset now) => _heldDuringSplit.Count > Sync.HeldInNetjoin
        ? ReplicaOutcome.Nothing with { Then = [new NetjoinRequested(LinkState.Linked)] }
        : Released(LinkState.Linked, now);

    /// <summary>
    /// A batch of the primary. Its acknowledgement holds whatever the batch is (one the netjoin makes us ignore too). A resync is taken
    /// only as the next part of the netjoin under way, and its last part ends the netjoin; any other batch is applied only in step
    /// (<see cref="ReplicaSync.Judge"/>), and one that shows us out of step starts a netjoin instead.
    /// </summary>
    private ReplicaOutcome FromPrimary(BatchFromPrimary command)
    {
        var batch = command.Batch;
        var acknowledged = batch.Ack is { } ack ? Acknowledged(ack) : ReplicaOutcome.Nothing;
        if (HeardAcrossSplit(command.Link)) return acknowledged.FollowedBy(NetjoinStarting(null));
        if (batch.ResyncOf is not null)
        {
            if (!Sync.Answers(batch, command.Link)) return acknowledged with { Resync = ResyncStep.Ignored };
            var taken = acknowledged.FollowedBy(BatchTaken(batch));
            taken = taken with { Events = [.. taken.Events, .. Sync.PartTaken(batch)] };
            return batch.More
                ? taken with { Resync = ResyncStep.PartTaken }
                : (taken with { Resync = ResyncStep.NetjoinComplete }).FollowedBy(NetjoinEnded(command.Now));
        }
        var (verdict, why) = Sync.Judge(batch, command.Link);
        return verdict switch
        {
            // Only a batch lost in a way neither end noticed, or a new incarnation of this node, has it name a presence we do not keep.
            BatchVerdict.Apply when NotKept(batch) is { } nick => acknowledged.FollowedBy(
                NetjoinStarting($"batch {batch.Sequence} sends again the presence of {nick}, which this replica does not have")),
            BatchVerdict.Apply => acknowledged.FollowedBy(BatchTaken(batch)),
            BatchVerdict.Resync => acknowledged.FollowedBy(NetjoinStarting(why)),
            _ => acknowledged,
        };
    }

    private string? NotKept(ReplicaBatch batch) =>
        batch.Items.SelectMany(item => item.Repeats ?? []).FirstOrDefault(nick => _kept.Of(nick) is null);

    /// <summary>
    /// Each local occupant is pinged from the room (XEP-0199). The server answers for a session it lost with an error, which reaches the
    /// room like any stanza of the user (forwarded, or while split served as the user's leave and held), and the room removes the ghost (333).
    /// </summary>
    private ReplicaOutcome LocalSessionsProbe()
    {
        if (_localOccupants.Count == 0) return ReplicaOutcome.Nothing;
        var id = $"dmuc-probe-{_probes + 1}";
        return new ReplicaOutcome([new LocalSessionsProbed(id)], [.. _localOccupants.Keys.Select(session => RoomState.ProbeSession(room, session, id))]);
    }

    /// <summary>
    /// This node is stopping: local occupants are told (332) and the primary hears that they left, so the rest of the room does not
    /// keep ghosts of them.
    /// </summary>
    private ReplicaOutcome Stopping()
    {
        var deliveries = new List<Delivery>();
        var leaves = new List<PrimaryForward>();
        foreach (var (occupant, nick) in _localOccupants)
        {
            var occupantJid = room.WithResource(nick).ToString();
            leaves.Add(new PrimaryForward(new XElement(Ns.Client + "presence",
                new XAttribute("type", "unavailable"), new XAttribute("from", occupant.ToString()), new XAttribute("to", occupantJid)), null));
            deliveries.Add(new Delivery(occupant, new XElement(Ns.Client + "presence",
                new XAttribute("from", occupantJid), new XAttribute("type", "unavailable"),
                new XElement(Ns.MucUser + "x",
                    new XElement(Ns.MucUser + "item", new XAttribute("affiliation", "none"), new XAttribute("role", "none")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "110")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "332"))))));
        }
        return ReplicaOutcome.Sending(deliveries) with { Forwards = leaves };
    }

    /// <summary>A receipt's write ended: sent if the server's stream took what it covers and we are in step; the next waits a pause.</summary>
    private ReplicaOutcome ReceiptEnded(ReceiptWriteEnded ended)
    {
        var (events, pause) = ReceiptPacing.Ended(ended, KeepsInStep);
        return ReplicaOutcome.Of(events) with { ReceiptToSend = events.OfType<ReceiptSent>().FirstOrDefault()?.Receipt, ReceiptPause = pause };
    }

    /// <summary>Applies what a command decided, its events in order, and returns it for sending.</summary>
    public ReplicaOutcome Apply(ReplicaOutcome outcome)
    {
        foreach (var happened in outcome.Events) Apply(happened);
        return outcome;
    }

    /// <summary>The only place the replica's room changes.</summary>
    public void Apply(ReplicaRoomEvent happened)
    {
        switch (happened)
        {
            case EntryRequested requested:
                _askedToBeIn.Add(requested.User);
                break;
            case EntryRequestWithdrawn withdrawn:
                _askedToBeIn.Remove(withdrawn.User);
                break;
            case ReplicaBatchApplied applied:
                ApplyBatch(applied);
                break;
            case OwnServerSaid said:
                _ownServerSaid = said.Said;
                break;
            case SessionConfirmed confirmed:
                _unconfirmed.Remove(confirmed.User);
                // Proven there: from now on the user is as one who entered through this replica.
                _askedToBeIn.Add(confirmed.User);
                break;
            case UnconfirmedSessionGone gone:
                _unconfirmed.Remove(gone.User);
                _localOccupants.Remove(gone.User);
                ForgetRosterIfNobodyLocal();
                break;
            case StanzaHeldDuringSplit held:
                _heldDuringSplit.Add(held.Held);
                break;
            case LocalOccupantEntered entered:
                _localOccupants[entered.User] = entered.Nick;
                _askedToBeIn.Add(entered.User);
                break;
            case LocalPresenceChanged changed:
                _roster[changed.Entry.Nick] = changed.Entry;
                break;
            case LocalOccupantLeft left:
                _localOccupants.Remove(left.User);
                _askedToBeIn.Remove(left.User);
                _unconfirmed.Remove(left.User);
                _roster.Remove(left.Nick);
                ForgetRosterIfNobodyLocal();
                break;
            case LocalOccupantKicked kicked:
                foreach (var session in kicked.Sessions)
                {
                    _localOccupants.Remove(session);
                    _askedToBeIn.Remove(session);
                }
                _roster.Remove(kicked.Nick);
                break;
            case ProvisionalMessageKept kept:
                AddToHistory(kept.Entry);
                foreach (var seen in SeenKeys(kept.Entry.Message).Take(1)) _seenHere.Add(seen);
                break;
            case ForwardServedAtSplit served:
                _forwards.ServedHere(served.Stanza);
                break;
            case OccupantShownAway away:
                _shownAway.Add(away.Away.Nick);
                _roster[away.Away.Nick] = away.Away;
                break;
            case ReceiptWriting or ReceiptSent or ReceiptPaused or ReceiptPauseEnded or ReceiptsToBeSentAnew:
                _receipts.Apply(happened);
                break;
            case NetjoinStarted or ResyncPartTaken or NetjoinAbandoned:
                Sync.Apply(happened);
                break;
            case StanzaWaitingForNetjoin waiting:
                _waitingForNetjoin.Add(waiting);
                break;
            case LocalSessionsProbed:
                _probes++;
                break;
            case WaitingStanzasReleased:
                _waitingForNetjoin.Clear();
                break;
            case StanzaForwarded forwarded:
                _forwards.Forward(forwarded.Stanza, forwarded.At, forwarded.Resent);
                break;
            case ForwardsAcknowledgedUpTo acknowledged:
                _forwards.Acknowledge(acknowledged.Ack);
                break;
            case HeldStanzasReachedPrimary reached:
                var count = Math.Min(reached.Count, _heldDuringSplit.Count);
                _heldDuringSplit.RemoveRange(0, count);
                FirstHeldNumber += count;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(happened), happened, "not an event of a replica's room");
        }
    }

    /// <summary>
    /// A local user's stanza on its way to the primary: an available presence is the user's request to be in the room, which §4.5
    /// requires before the replica adds them.
    /// </summary>
    private static ReplicaOutcome EntryRequests(XElement stanza)
    {
        if (stanza.Name.LocalName != "presence" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return ReplicaOutcome.Nothing;
        return stanza.Attribute("type")?.Value switch
        {
            null => new ReplicaOutcome([new EntryRequested(from)], []),
            "unavailable" => new ReplicaOutcome([new EntryRequestWithdrawn(from)], []),
            _ => ReplicaOutcome.Nothing,
        };
    }

    /// <summary>
    /// One batch from the primary: entries first, then each stanza to its recipients (explicit, or every local occupant), then
    /// departures. Entries nobody asked for are refused and get nothing, except in a netjoin's resync: there an own host's user
    /// this replica does not know is one it forgot (its node restarted, the user stayed connected), so the entry is taken
    /// provisionally and checked with the room's ping (<see cref="RoomState.ProbeSession"/>); what the room sends them waits
    /// for the answer (<see cref="CheckAnswered"/>, <see cref="CheckUnanswered"/>).
    /// </summary>
    /// <remarks>A netjoin's resync brings the primary's copy of every message the replica kept provisionally.</remarks>
    private ReplicaOutcome BatchTaken(ReplicaBatch batch)
    {
        var refused = new List<Jid>();
        var entering = new List<Jid>();
        var relearnt = new List<Jid>();
        var deliveries = new List<Delivery>();
        string? check = null;
        foreach (var occupant in batch.Items.Select(item => item.Enter?.Occupant).OfType<Jid>())
        {
            if (occupant.Domain != ownHost || (!_askedToBeIn.Contains(occupant) && !(batch.ResyncOf is not null && _freshIncarnation)))
            {
                refused.Add(occupant);
                continue;
            }
            if (!_localOccupants.ContainsKey(occupant) && !entering.Contains(occupant)) entering.Add(occupant);
            if (_askedToBeIn.Contains(occupant) || _unconfirmed.ContainsKey(occupant) || relearnt.Contains(occupant)) continue;
            check ??= $"dmuc-relearn-{_checks + 1}";
            relearnt.Add(occupant);
            deliveries.Add(RoomState.ProbeSession(room, occupant, check));
        }

        var inRoom = _localOccupants.Keys.Concat(entering).ToList();
        var checking = _unconfirmed.Keys.Concat(relearnt).ToHashSet();
        var seenHere = batch.ResyncOf is null ? null : SeenHere(batch);
        var heldForCheck = new List<Delivery>();
        foreach (var item in batch.Items)
        {
            var recipients = item.Recipients ?? inRoom.Where(jid => item.Except?.Contains(jid) != true).ToList();
            foreach (var recipient in recipients)
            {
                // A replica speaks only to its own host's users, and never to one whose entry it refused.
                if (recipient.Domain != ownHost || refused.Contains(recipient) || (seenHere is not null && SeenHere(item, seenHere))) continue;
                var to = checking.Contains(recipient) ? heldForCheck : deliveries;
                // Every name was checked before an ordinary batch is taken (NotKept); a resync names none (the link forgot what it sent).
                if (item.Repeats is { } nicks) to.AddRange(nicks.Select(_kept.Of).OfType<KeptPresences.Kept>().Select(kept => new Delivery(recipient, kept.Presence)));
                else to.Add(new Delivery(recipient, item.Stanza));
            }
        }
        return new ReplicaOutcome([new ReplicaBatchApplied(batch, refused, check, relearnt, heldForCheck)], deliveries) { Refused = refused };
    }

    private void ApplyBatch(ReplicaBatchApplied applied)
    {
        var batch = applied.Batch;
        LastSequence = batch.Sequence;
        if (batch.ResyncOf is not null)
        {
            RemoveProvisionalHistory();
            _shownAway.Clear();
        }
        if (applied.RelearnCheck is { } check)
        {
            _checks++;
            foreach (var occupant in applied.Relearnt) _unconfirmed[occupant] = new Unconfirmed(check, []);
        }
        foreach (var item in batch.Items.Where(item => item.Enter is { } enter && !applied.Refused.Contains(enter.Occupant)))
            _localOccupants[item.Enter!.Occupant] = NickOf(item.Stanza) ?? item.Enter.Occupant.ToString();
        if (batch.ResyncOf is null || !batch.More) _freshIncarnation = false;
        if (batch.ResyncOf is not null && !batch.More) _seenHere.Clear();

        foreach (var item in batch.Items) Remember(item);
        foreach (var held in applied.HeldForCheck) _unconfirmed[held.To].Held.Add(held.Stanza);

        var leaves = batch.Items.Select(item => item.Leave).OfType<Jid>().ToList();
        foreach (var leave in leaves)
        {
            _localOccupants.Remove(leave);
            _askedToBeIn.Remove(leave);
            _unconfirmed.Remove(leave);
        }
        if (leaves.Count > 0) ForgetRosterIfNobodyLocal();
    }

    /// <summary>
    /// A local user's stanza that answers a session check (<see cref="BatchTaken"/>): a result, or an error by which the room would
    /// not take the session as gone, keeps the user, who now gets what the room sent them meanwhile; an error the room takes as the
    /// session being gone removes them here, and goes on to the room as the link allows, which removes them by its own rule and tells
    /// the others why (333), as after its own check. Null for any other stanza, which goes its usual way.
    /// </summary>
    private ReplicaOutcome? CheckAnswered(LocalStanzaArrived arrived)
    {
        var stanza = arrived.Stanza;
        if (stanza.Name.LocalName != "iq" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)
            || !Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to != room
            || !_unconfirmed.TryGetValue(from, out var pending) || stanza.Attribute("id")?.Value != pending.CheckId)
            return null;
        return stanza.Attribute("type")?.Value switch
        {
            "result" => Confirmed(),
            "error" when !RoomState.SessionGone(stanza) => Confirmed(),
            // Once they are gone here, the error is no answer any more and goes the way of any stanza of theirs.
            "error" => ReplicaOutcome.Of(new UnconfirmedSessionGone(from)) with { SessionsGone = [from], Then = [arrived] },
            _ => null,
        };

        ReplicaOutcome Confirmed() => new([new SessionConfirmed(from)], NotHandedYet(from, pending.Held).Select(held => new Delivery(from, held)).ToList());
    }

    /// <summary>
    /// What a relearnt user is sent of what waited for their check: all of it, but the room's messages up to the last one this
    /// node's server says it handed them before the node's previous incarnation died (docs/protocol/delivered.md), which the
    /// resync brings again since the room's receipt of this host is older.
    /// </summary>
    private IEnumerable<XElement> NotHandedYet(Jid session, List<XElement> held)
    {
        if (_ownServerSaid?.Of(session) is not { } got) return held;
        var last = held.FindLastIndex(stanza => StanzaIdOf(stanza, room) == got);
        return held.Where((stanza, index) => index > last || StanzaIdOf(stanza, room) is null);
    }

    /// <summary>
    /// The check's time is up: whoever it still waits for is taken as gone. What goes on to the room for each is the error their
    /// server would have answered with had it known (remote-server-timeout), so that the room removes them by the same rule (333)
    /// as when it did.
    /// </summary>
    private ReplicaOutcome CheckUnanswered(SessionCheckTimedOut timedOut)
    {
        var gone = _unconfirmed.Where(pending => pending.Value.CheckId == timedOut.CheckId).Select(pending => pending.Key).ToList();
        return new ReplicaOutcome([.. gone.Select(user => new UnconfirmedSessionGone(user))], [])
        {
            SessionsGone = gone,
            Then = gone.Select(user =>
            {
                // The ping as it went out, addressed to the session, so that the error answers it from the session to the room.
                var ping = RoomState.ProbeSession(room, user, timedOut.CheckId).Stanza;
                ping.SetAttributeValue("to", user.ToString());
                var error = StanzaError.Reply(ping, StanzaErrorCondition.RemoteServerTimeout, "the session did not answer the room's ping", "wait");
                return new LocalStanzaArrived(error, timedOut.Link, timedOut.Now);
            }).ToList(),
        };
    }

    /// <summary>
    /// A local user's stanza while the room is split from its primary (§4.11.1): what the XEP requires (a local occupant's leave
    /// or presence change) and the MAYs <see cref="SplitServing"/> turns on are served to the local occupants at once, and what
    /// the room must hear of is held for the netjoin; anything else is answered with an error, so that nothing is silently lost.
    /// </summary>
    private ReplicaOutcome ServedDuringSplit(XElement stanza, DateTimeOffset now)
    {
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return ReplicaOutcome.Nothing;
        var type = stanza.Attribute("type")?.Value;
        Jid.TryParse(stanza.Attribute("to")?.Value, out var to);
        if (type == "result" || (type == "error" && !(stanza.Name.LocalName == "iq" && to?.Bare == room && to.Resource is null)))
            return ReplicaOutcome.Nothing;
        var toRoom = to?.Bare == room;
        var nick = _localOccupants.GetValueOrDefault(from);
        var served = (stanza.Name.LocalName, nick) switch
        {
            // The server answering the room's probe for a session it lost (LocalSessionsCheckDue): the room
            // removes it at the netjoin (333); the local occupants see it leave now.
            ("iq", { } gone) when toRoom && to!.Resource is null && type == "error" => Held(stanza, now, LeaveLocally(from, gone)),
            ("presence", { } own) when toRoom && (to!.Resource is null || to.Resource == own) && type is null or "unavailable" =>
                Held(stanza, now, type is null ? ChangePresenceLocally(from, own, stanza) : LeaveLocally(from, own)),
            ("presence", null) when _serving.Entries && toRoom && to!.Resource is { } wanted && type is null && from.Domain == ownHost =>
                EnterLocally(from, wanted, stanza, now),
            ("message", { } sender) when _serving.LocalChat && toRoom && to!.Resource is null && type == "groupchat"
                                         && stanza.Element(Ns.Client + "subject") is null =>
                SayLocally(from, sender, stanza, now),
            ("message", { } sender) when _serving.PrivateMessages && toRoom && to!.Resource is { } recipient && type is null or "chat" or "normal" =>
                WhisperLocally(sender, recipient, stanza),
            ("iq", { } moderator) when _serving.Kicks && toRoom && to!.Resource is null && type == "set" && KickRequested(stanza) is { } kick =>
                KickLocally(from, moderator, kick.Nick, kick.Reason, stanza, now),
            _ => null,
        };
        // Errors are never answered with errors (RFC 6120 §8.3).
        return served ?? (type == "error" ? ReplicaOutcome.Nothing
            : ReplicaOutcome.Sending([ErrorTo(from, stanza, StanzaErrorCondition.RemoteServerTimeout, SplitErrorText)]));
    }

    /// <summary>
    /// The link to the primary was found split: with <see cref="SplitServing.MarkOthersAway"/>, the local users see every occupant
    /// of the other hosts go away (the netjoin brings their presence as it is then).
    /// </summary>
    private ReplicaOutcome SplitFound()
    {
        if (!_serving.MarkOthersAway) return ReplicaOutcome.Nothing;
        var localNicks = _localOccupants.Values.ToHashSet();
        var events = new List<ReplicaRoomEvent>();
        var deliveries = new List<Delivery>();
        foreach (var entry in _roster.Values.Where(entry => !localNicks.Contains(entry.Nick) && !_shownAway.Contains(entry.Nick)))
        {
            var away = SplitHostAway.AsAway(entry.ToPresence(room));
            events.Add(new OccupantShownAway(RosterEntry.FromPresence(away, room)!));
            deliveries.AddRange(_localOccupants.Keys.Select(local => new Delivery(local, away)));
        }
        return new ReplicaOutcome(events, deliveries);
    }

    private static ReplicaOutcome Held(XElement stanza, DateTimeOffset now, ReplicaOutcome served) =>
        served with { Events = [.. served.Events, new StanzaHeldDuringSplit(new HeldStanza(stanza, now))] };

    /// <summary>
    /// A groupchat message among the local occupants, rendered as the room would (<see cref="Messages.GroupchatFrom"/>, without
    /// any stanza-id: only the primary gives the XEP-0359 id the room's history knows it by). One the room would keep
    /// (<see cref="Dmuc.Rooms.History.IsHistoric"/>) is kept in the history until the netjoin brings the primary's copy; one with a body
    /// or kept is held for the room; anything else (a chat state) is only relayed.
    /// </summary>
    private ReplicaOutcome? SayLocally(Jid from, string nick, XElement stanza, DateTimeOffset now)
    {
        if (!MaySpeak(nick)) return ReplicaOutcome.Sending([ErrorTo(from, stanza, StanzaErrorCondition.Forbidden, Messages.NoVoiceText, "auth")]);
        var said = Said(nick, stanza, now);
        // A message asking not to be stored (XEP-0334) is not kept, but the rest of the room must still hear it.
        return said.Events.Count > 0 || stanza.Element(Ns.Client + "body") is not null ? Held(stanza, now, said) : said;
    }

    private bool MaySpeak(string nick) => _roster.GetValueOrDefault(nick)?.Role is not { } role || Messages.MaySpeak(role);

    /// <summary>A groupchat message to every local occupant, as the room relays it; kept in the history until the netjoin if the room would keep it.</summary>
    private ReplicaOutcome Said(string nick, XElement stanza, DateTimeOffset now)
    {
        var message = Messages.GroupchatFrom(stanza, room, nick);
        var deliveries = _localOccupants.Keys.Select(local => new Delivery(local, message)).ToList();
        return new ReplicaOutcome(Dmuc.Rooms.History.IsHistoric(message) ? [new ProvisionalMessageKept(new ReplicaHistoryEntry(message, now, Provisional: true))] : [],
            deliveries);
    }

    /// <summary>
    /// The link was found split: the local users' messages the room never acknowledged (sent into the cut, or into the primary's
    /// crash) are shown to them now, as what they say from now on will be, so that they see them before it, in the order the room
    /// takes them at the netjoin (forwards first, then what was held). They stay in the window for the netjoin, and the resync's
    /// copies of them reach nobody here (<see cref="SeenHere"/>). Only groupchat messages the replica would serve during a split.
    /// </summary>
    private ReplicaOutcome ServedAtSplit(DateTimeOffset now)
    {
        if (!_serving.LocalChat) return ReplicaOutcome.Nothing;
        var outcome = ReplicaOutcome.Nothing;
        foreach (var stanza in _forwards.NotServedHere)
        {
            if (stanza.Name != Ns.Client + "message" || stanza.Attribute("type")?.Value != "groupchat" || stanza.Element(Ns.Client + "subject") is not null
                || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from) || !_localOccupants.TryGetValue(from, out var nick)
                || !Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to != room || !MaySpeak(nick))
                continue;
            var said = Said(nick, stanza, now);
            if (said.Events.Count == 0 && stanza.Element(Ns.Client + "body") is null) continue;
            outcome = outcome.FollowedBy(said with { Events = [.. said.Events, new ForwardServedAtSplit(stanza)] });
        }
        return outcome;
    }

    /// <summary>
    /// The messages the local users were shown during the split, as a resync's history items name them: served here, or served at
    /// the split while its forward was unacknowledged, and those the node's previous life served, held again (<see cref="HeldAgain"/>):
    /// the room has no record of the last (it belongs to the life that reported them), and the server's record of what it handed
    /// counts stanza-ids, which a replica's own echo has none of. Their senders are named by the nicks this resync gives them.
    /// </summary>
    private HashSet<(string From, string IdOrBody)> SeenHere(ReplicaBatch resync)
    {
        var servedByLastLife = _heldDuringSplit.Where(held => held.Resent && held.Stanza.Name == Ns.Client + "message").ToList();
        if (servedByLastLife.Count == 0) return _seenHere;
        var nicks = new Dictionary<Jid, string>(_localOccupants);
        foreach (var item in resync.Items)
            if (item.Enter is { } enter && NickOf(item.Stanza) is { } nick) nicks[enter.Occupant] = nick;
        var seen = new HashSet<(string From, string IdOrBody)>(_seenHere);
        foreach (var held in servedByLastLife)
            if (Jid.TryParse(held.Stanza.Attribute("from")?.Value, out var sender) && nicks.TryGetValue(sender, out var nick))
                seen.UnionWith(SeenKeys(held.Stanza, room.WithResource(nick).ToString()).Take(1));
        return seen;
    }

    /// <summary>Whether a resync's history item is one of the messages <paramref name="seenHere"/>: the replica keeps the room's copy and delivers it to nobody.</summary>
    private static bool SeenHere(ReplicaItem item, HashSet<(string From, string IdOrBody)> seenHere) =>
        item.Delay is not null && item.Stanza.Name == Ns.Client + "message" && SeenKeys(item.Stanza).Any(seenHere.Contains);

    /// <summary>
    /// A message by its sender's nick and id, then by its body: a client that sets no id gets the room's copy with the room's id,
    /// so what the replica showed is matched by its body (a nick that says the same text twice in a split has both seen here).
    /// </summary>
    private static IEnumerable<(string From, string IdOrBody)> SeenKeys(XElement message, string? from = null)
    {
        from ??= message.Attribute("from")?.Value ?? "";
        if (message.Attribute("id")?.Value is { } id) yield return (from, id);
        if (message.Element(Ns.Client + "body")?.Value is { } body) yield return (from, "body:" + body);
    }

    /// <summary>An in-room private message to a local occupant: relayed as the room would, not held (the room keeps none).</summary>
    private ReplicaOutcome? WhisperLocally(string senderNick, string recipientNick, XElement stanza)
    {
        var recipients = _localOccupants.Where(local => local.Value == recipientNick).Select(local => local.Key).ToList();
        if (recipients.Count == 0) return null;
        var message = Messages.PrivateMessageFrom(stanza, room, senderNick);
        return ReplicaOutcome.Sending(recipients.Select(recipient => new Delivery(recipient, message)).ToList());
    }

    /// <summary>The nick and reason of a muc#admin kick (one item, role none), or null for any other request.</summary>
    private static (string Nick, string? Reason)? KickRequested(XElement iq)
    {
        var items = iq.Element(Ns.MucAdmin + "query")?.Elements(Ns.MucAdmin + "item").ToList();
        if (items is not [{ } item] || item.Attribute("role")?.Value != "none" || item.Attribute("nick")?.Value is not { } nick) return null;
        return (nick, item.Element(Ns.MucAdmin + "reason")?.Value);
    }

    /// <summary>
    /// A kick (XEP-0045 §8.2) of a local occupant, by the room's own rule (<see cref="Moderation.MayChangeRole"/>) on the
    /// roles and affiliations the primary last announced; a kick of an occupant elsewhere waits for the room.
    /// </summary>
    private ReplicaOutcome? KickLocally(Jid from, string moderatorNick, string nick, string? reason, XElement iq, DateTimeOffset now)
    {
        var sessions = _localOccupants.Where(local => local.Value == nick).Select(local => local.Key).ToList();
        var moderator = _roster.GetValueOrDefault(moderatorNick);
        if (sessions.Count == 0 && moderator?.Role == Role.Moderator) return null;
        var target = _roster.GetValueOrDefault(nick);
        var affiliation = target?.Affiliation ?? Affiliation.None;
        if (Moderation.MayChangeRole(moderator?.Role ?? Role.None, moderator?.Affiliation ?? Affiliation.None, target?.Role ?? Role.None,
                affiliation, Role.None) is { } refusal)
            return ReplicaOutcome.Sending([ErrorTo(from, iq, refusal.Condition, refusal.Text, refusal.Type)]);
        if (sessions.Count == 0) return null;

        // As the room announces a kick (status 307 before the item; the kicked sessions' own with their JID and 110).
        XElement Kicked(Jid? jid) => Stanzas.Presence(room.WithResource(nick).ToString(), "unavailable").WithChild(Stanzas.MucUserX(
            Stanzas.Status(307), Stanzas.Item(affiliation, Role.None, jid?.ToString(), actorNick: moderatorNick, reason: reason),
            jid is null ? null : Stanzas.Status(110)));
        var seen = Kicked(null);
        var result = new XElement(Ns.Client + "iq", new XAttribute("from", room.ToString()), new XAttribute("type", "result"),
            iq.Attribute("id") is { } id ? new XAttribute("id", id.Value) : null);
        return Held(iq, now, new ReplicaOutcome([new LocalOccupantKicked(nick, sessions)], [
            .. sessions.Select(session => new Delivery(session, Kicked(session))),
            .. _localOccupants.Keys.Except(sessions).Select(other => new Delivery(other, seen)),
            new Delivery(from, result)]));
    }

    /// <summary>
    /// An entry under a nick the replica's roster does not have (the XEP's DANGER): the entrant gets the roster as
    /// the replica knows it, its own presence (as a participant: the primary settles the role at the netjoin) and
    /// the replica's history; the entry is held. A replica without local occupants knows no roster and refuses.
    /// </summary>
    private ReplicaOutcome? EnterLocally(Jid from, string nick, XElement presence, DateTimeOffset now)
    {
        if (_localOccupants.Count == 0) return null;
        if (_roster.ContainsKey(nick))
            return ReplicaOutcome.Sending([ErrorTo(from, presence, StanzaErrorCondition.Conflict, "That nickname is already in use by another occupant", "cancel")]);
        var deliveries = _roster.Values.Select(entry => new Delivery(from, entry.ToPresence(room))).ToList();
        var announced = ChangePresenceLocally(from, nick, presence);
        deliveries.AddRange(announced.Deliveries);
        // The entrant's <history/> limits, as the room reads them (History.Requested), on what this replica keeps.
        var kept = Dmuc.Rooms.History.Requested(_history.ToList(), entry => StanzaText.Of(entry.Message).Length,
            entry => entry.AcceptedAt, presence.Element(Ns.Muc + "x")?.Element(Ns.Muc + "history"), maxHistory, null, now);
        deliveries.AddRange(kept.Select(entry => new Delivery(from, Delayed(entry))));
        return Held(presence, now, new ReplicaOutcome([new LocalOccupantEntered(from, nick), .. announced.Events], deliveries));
    }

    /// <summary>A kept message as replayed to an entrant: delayed by the room (XEP-0203) unless it says so already.</summary>
    private XElement Delayed(ReplicaHistoryEntry entry)
    {
        if (entry.Message.Elements(Ns.Delay + "delay").Any(delay => delay.Attribute("from")?.Value == room.ToString())) return entry.Message;
        return new XElement(entry.Message).WithChild(Stanzas.Delay(room, entry.AcceptedAt));
    }

    /// <summary>An error answering a local user's stanza, from the address it was sent to.</summary>
    public static Delivery ErrorTo(Jid user, XElement stanza, StanzaErrorCondition condition, string? text, string type = "wait")
    {
        var error = StanzaError.Reply(stanza, condition, text, type);
        error.Attribute("to")?.Remove();
        return new Delivery(user, error);
    }

    private ReplicaOutcome LeaveLocally(Jid user, string nick)
    {
        var affiliation = _roster.GetValueOrDefault(nick)?.Affiliation ?? Affiliation.None;
        var occupantJid = room.WithResource(nick).ToString();
        var others = Stanzas.Presence(occupantJid, "unavailable").WithChild(Stanzas.MucUserX(Stanzas.Item(affiliation, Role.None)));
        var own = Stanzas.Presence(occupantJid, "unavailable")
            .WithChild(Stanzas.MucUserX(Stanzas.Item(affiliation, Role.None, user.ToString()), Stanzas.Status(110)));
        return new ReplicaOutcome([new LocalOccupantLeft(user, nick)],
            [new Delivery(user, own), .. _localOccupants.Keys.Where(other => other != user).Select(other => new Delivery(other, others))]);
    }

    /// <summary>
    /// Called when a local occupant left. The primary sends nothing to a host without occupants, so with the last one gone the roster
    /// would go stale; a netjoin that took it as what the users saw would skip occupants who came back unchanged.
    /// The next entry brings the whole roster again. The history would get a gap, so it starts again too.
    /// </summary>
    private void ForgetRosterIfNobodyLocal()
    {
        if (_localOccupants.Count > 0) return;
        _roster.Clear();
        _history.Clear();
        _shownAway.Clear();
    }

    /// <summary>Kept only while someone local is in the room: without, the history would get a gap (see above).</summary>
    private void AddToHistory(ReplicaHistoryEntry entry)
    {
        if (_localOccupants.Count == 0) return;
        _history.AddLast(entry);
        while (_history.Count > maxHistory) _history.RemoveFirst();
    }

    private void RemoveProvisionalHistory()
    {
        for (var node = _history.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Provisional) _history.Remove(node);
            node = next;
        }
    }

    private ReplicaOutcome ChangePresenceLocally(Jid user, string nick, XElement presence)
    {
        var known = _roster.GetValueOrDefault(nick);
        var (affiliation, role) = (known?.Affiliation ?? Affiliation.None, known?.Role ?? Role.Participant);
        // The user's own presence payload (show, status, priority, caps…) as the room would repeat it.
        XElement Announce(XElement x) => Stanzas.WithFrom(Stanzas.WithoutMucPayload(presence), room.WithResource(nick).ToString()).WithChild(x);
        var others = Announce(Stanzas.MucUserX(Stanzas.Item(affiliation, role)));
        var own = Announce(Stanzas.MucUserX(Stanzas.Item(affiliation, role, user.ToString()), Stanzas.Status(110)));
        return new ReplicaOutcome(RosterEntry.FromPresence(others, room) is { } entry ? [new LocalPresenceChanged(entry)] : [],
            [.. _localOccupants.Keys.Where(other => other != user).Select(other => new Delivery(other, others)), new Delivery(user, own)]);
    }

    private void Remember(ReplicaItem item)
    {
        var stanza = item.Stanza;
        // Every view of an occupant's presence (broadcast, roster for one, self-presence) tells its current state;
        // an item delivered to nobody only carries an enter or leave. A presence sent again tells what we kept of it.
        if (_kept.Announces(item) is { } announced)
        {
            var (nick, available) = announced;
            var entry = available ? RosterEntry.FromPresence(stanza, room) : null;
            _kept.Take(item, entry);
            if (entry is not null) _roster[entry.Nick] = entry;
            else if (!available) _roster.Remove(nick);
        }
        foreach (var repeated in item.Repeats ?? [])
            if (_kept.Of(repeated)?.Entry is { } entry)
                _roster[repeated] = entry;
        // Only a message of the room's history (kept live, or replayed by the room to an entrant) can be found there
        // again by a netjoin; a chat state or a no-store message has a stanza-id too, and taking it would make the
        // netjoin resend the whole history.
        var ofTheHistory = item.Delay is not null || stanza.Elements(Ns.Delay + "delay").Any(delay => delay.Attribute("from")?.Value == room.ToString());
        if (stanza.Name.LocalName == "message" && ofTheHistory && StanzaIdOf(stanza) is { } stanzaId) LastStanzaId = stanzaId;
        if (item.Delay is { } stamp) AddToHistory(new ReplicaHistoryEntry(stanza, stamp));
    }

    private string? StanzaIdOf(XElement message) => StanzaIdOf(message, room);

    /// <summary>The XEP-0359 id <paramref name="room"/> gave the message, if it carries one.</summary>
    public static string? StanzaIdOf(XElement message, Jid room) =>
        message.Elements(Ns.StanzaId + "stanza-id").FirstOrDefault(id => id.Attribute("by")?.Value == room.ToString())?.Attribute("id")?.Value;

    private string? NickOf(XElement stanza) =>
        Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare == room ? from.Resource : null;
}

/// <param name="Provisional">Said during a split and kept here only until the netjoin brings the primary's copy.</param>
public sealed record ReplicaHistoryEntry(XElement Message, DateTimeOffset AcceptedAt, bool Provisional = false);
