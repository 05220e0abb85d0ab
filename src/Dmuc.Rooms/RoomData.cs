using System.Collections.Immutable;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// The whole state of a room, built from immutable collections so that a copy is cheap: <see cref="RoomState.Process"/>
/// works on a copy and applies its events there while it decides, leaving the live state untouched.
/// </summary>
internal sealed class RoomData
{
    public RoomData(Jid roomJid, MucServiceOptions options)
    {
        RoomJid = roomJid;
        Options = options;
        Config = options.RoomDefaults;
    }

    public Jid RoomJid { get; }
    public MucServiceOptions Options { get; }
    public bool Exists { get; private set; }
    public RoomConfig Config { get; private set; }
    public DateTimeOffset? LockedUntil { get; private set; }
    public string Salt { get; private set; } = "";
    public ImmutableDictionary<Jid, AffiliationEntry> Affiliations { get; private set; } = ImmutableDictionary<Jid, AffiliationEntry>.Empty;
    public RoomSubject? Subject { get; private set; }
    public RoomTombstone? Tombstone { get; private set; }
    public ImmutableList<HistoryEntry> History { get; private set; } = [];
    /// <summary>The journal position up to which retention expired the archive (<see cref="ArchivedMessagesExpired"/>).</summary>
    public long ArchiveExpiredThrough { get; private set; }
    public ImmutableDictionary<string, Occupant> Occupants { get; private set; } = ImmutableDictionary<string, Occupant>.Empty;
    private ImmutableDictionary<Jid, string> _nickByRealJid = ImmutableDictionary<Jid, string>.Empty;
    /// <summary>How far the room processed what each relay numbered for it.</summary>
    public ImmutableDictionary<string, RelayPosition> Relays { get; private set; } = ImmutableDictionary<string, RelayPosition>.Empty;
    /// <summary>What each relay's server was last handed, for the sessions still in the room.</summary>
    public ImmutableDictionary<string, RelayReceipt> Receipts { get; private set; } = ImmutableDictionary<string, RelayReceipt>.Empty;
    /// <summary>The nicks that left lately, for a restarted replica node's netjoin.</summary>
    public RecentDepartures Departures { get; private set; } = RecentDepartures.None;
    /// <summary>The sessions the room let go without their word, for the netjoins of their hosts.</summary>
    public SessionsLetGo LetGo { get; private set; } = SessionsLetGo.None;
    /// <summary>What is left of each user's stanza rate (by bare JID), for those who used some of it.</summary>
    public ImmutableDictionary<Jid, TokenBucket> StanzaAllowances { get; private set; } = ImmutableDictionary<Jid, TokenBucket>.Empty;

    /// <summary>Shared with this state's copies: it checks on each use what it depends on.</summary>
    public RosterPresences RosterPresences { get; } = new();

    public RoomData Copy()
    {
        var copy = (RoomData)MemberwiseClone();
        copy._copiedFrom = this;
        return copy;
    }

    // A command is decided on a copy: an order the copy sorts for the occupants it was copied with is the original's too, and
    // is handed back, so that the original carries it over its own changes (SetOccupant) instead of a copy sorting again.
    private RoomData? _copiedFrom;

    public string OccupantJid(string nick) => $"{RoomJid}/{nick}";

    public bool IsLocked(DateTimeOffset now) => LockedUntil is { } until && now < until;

    public Occupant? OccupantByNick(string nick) => Occupants.GetValueOrDefault(nick);

    public Occupant? OccupantByRealJid(Jid realJid) =>
        _nickByRealJid.TryGetValue(realJid, out var nick) ? Occupants.GetValueOrDefault(nick) : null;

    /// <summary>Every session's real JID with its occupant's nick: immutable, a new instance whenever a session comes, goes or changes nick.</summary>
    public IReadOnlyDictionary<Jid, string> NickByRealJid => _nickByRealJid;

    /// <summary>
    /// Occupants in a stable order (by nick) so that deliveries are deterministic. Sorted once for each change of who is
    /// in the room, not for every broadcast: a message to 100 occupants spent more on this sort than on its deliveries.
    /// </summary>
    public IReadOnlyList<Occupant> OccupantsInOrder
    {
        get
        {
            // Keyed by the dictionary itself: a copy of this state keeps the order for as long as it keeps the occupants.
            if (_occupantsInOrder is not { } sorted || !ReferenceEquals(sorted.Of, Occupants))
            {
                _occupantsInOrder = sorted = (Occupants, [.. Occupants.Values.OrderBy(occupant => occupant.Nick, StringComparer.Ordinal)]);
                if (_copiedFrom is { } original && ReferenceEquals(original.Occupants, Occupants)) original._occupantsInOrder = sorted;
            }
            return sorted.InOrder;
        }
    }

    private (ImmutableDictionary<string, Occupant> Of, Occupant[] InOrder)? _occupantsInOrder;

    /// <summary>
    /// The real JID of every session, grouped by its domain, each group in the order of <see cref="OccupantsInOrder"/>. Built
    /// once for each change of who is in the room, like that order: a busy room checks its own host's receipt, which lists
    /// that host's sessions, for nearly every message.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Jid>> SessionJidsByDomain
    {
        get
        {
            if (_sessionJidsByDomain is not { } grouped || !ReferenceEquals(grouped.Of, Occupants))
            {
                var byDomain = new Dictionary<string, List<Jid>>();
                foreach (var session in OccupantsInOrder.SelectMany(occupant => occupant.Sessions))
                {
                    if (!byDomain.TryGetValue(session.RealJid.Domain, out var ofDomain)) byDomain[session.RealJid.Domain] = ofDomain = [];
                    ofDomain.Add(session.RealJid);
                }
                _sessionJidsByDomain = grouped = (Occupants, byDomain.ToDictionary(domain => domain.Key, domain => (IReadOnlyList<Jid>)domain.Value.AsReadOnly()));
            }
            return grouped.ByDomain;
        }
    }

    private (ImmutableDictionary<string, Occupant> Of, IReadOnlyDictionary<string, IReadOnlyList<Jid>> ByDomain)? _sessionJidsByDomain;

    /// <summary>
    /// Occupants in the order they entered: the roster an entrant gets. In that order the roster of each entrant of a burst
    /// of joins is the roster of the one before, plus that one, so equal presences to consecutive entrants can go out as
    /// one (<see cref="RecipientOrderMerge{TStanza}"/>); in nick order each newcomer's place would split the rest off.
    /// </summary>
    public IReadOnlyList<Occupant> OccupantsByEntry
    {
        get
        {
            if (_occupantsByEntry is not { } sorted || !ReferenceEquals(sorted.Of, Occupants))
            {
                _occupantsByEntry = sorted = (Occupants, [.. Occupants.Values.OrderBy(occupant => occupant.Entered)]);
                if (_copiedFrom is { } original && ReferenceEquals(original.Occupants, Occupants)) original._occupantsByEntry = sorted;
            }
            return sorted.InOrder;
        }
    }

    private (ImmutableDictionary<string, Occupant> Of, Occupant[] InOrder)? _occupantsByEntry;
    private long _entries;

    private static readonly Comparison<Occupant> ByNick = (one, other) => string.CompareOrdinal(one.Nick, other.Nick);
    private static readonly Comparison<Occupant> ByEntry = (one, other) => one.Entered.CompareTo(other.Entered);

    /// <summary>
    /// Sets one occupant (an entry, a session, a role), and carries the two orders built for the room before over to the room
    /// after with that one change: a copy with one insertion or replacement, where sorting every occupant again at every join
    /// was 7 % of the primary's CPU in a join of 500 over three hosts.
    /// </summary>
    private void SetOccupant(Occupant occupant)
    {
        var before = Occupants;
        var previous = before.GetValueOrDefault(occupant.Nick);
        Occupants = before.SetItem(occupant.Nick, occupant);
        _occupantsInOrder = CarriedOver(_occupantsInOrder, before, previous, occupant, ByNick);
        _occupantsByEntry = CarriedOver(_occupantsByEntry, before, previous, occupant, ByEntry);
    }

    /// <summary>Removes one occupant, carrying the orders over as <see cref="SetOccupant"/> does.</summary>
    private void RemoveOccupant(Occupant occupant)
    {
        var before = Occupants;
        Occupants = before.Remove(occupant.Nick);
        _occupantsInOrder = CarriedOver(_occupantsInOrder, before, occupant, null, ByNick);
        _occupantsByEntry = CarriedOver(_occupantsByEntry, before, occupant, null, ByEntry);
    }

    /// <returns>The order of the room now, or null (built when next asked) if <paramref name="order"/> was not the room's before.</returns>
    private (ImmutableDictionary<string, Occupant> Of, Occupant[] InOrder)? CarriedOver((ImmutableDictionary<string, Occupant> Of, Occupant[] InOrder)? order,
        ImmutableDictionary<string, Occupant> before, Occupant? previous, Occupant? now, Comparison<Occupant> comparison)
    {
        if (order is not { } built || !ReferenceEquals(built.Of, before)) return null;
        // An occupant set to what it was already (an equal record) leaves the dictionary as it was, with its own instance.
        if (ReferenceEquals(before, Occupants)) return built;
        var list = new List<Occupant>(built.InOrder.Length + 1);
        list.AddRange(built.InOrder);
        if (previous is not null)
        {
            var at = list.FindIndex(occupant => ReferenceEquals(occupant, previous));
            if (at < 0) return null;
            list.RemoveAt(at);
        }
        if (now is not null)
        {
            // After every one that sorts before it or equal (nicks and entries are unique: none is equal).
            var (low, high) = (0, list.Count);
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (comparison(list[middle], now) <= 0) low = middle + 1;
                else high = middle;
            }
            list.Insert(low, now);
        }
        return (Occupants, list.ToArray());
    }

    /// <summary>The affiliation that counts for <paramref name="jid"/>: admins own every room, and a banned
    /// domain bans all its users.</summary>
    public Affiliation AffiliationOf(Jid jid)
    {
        if (Options.IsAdmin(jid)) return Affiliation.Owner;
        if (Affiliations.TryGetValue(jid.Bare, out var entry)) return entry.Affiliation;
        return Affiliations.TryGetValue(jid.DomainJid, out var domainEntry) && domainEntry.Affiliation == Affiliation.Outcast
            ? Affiliation.Outcast
            : Affiliation.None;
    }

    public string? RegisteredNick(Jid jid) => Affiliations.GetValueOrDefault(jid.Bare)?.ReservedNick;

    public Jid? RegisteredJid(string nick) =>
        Affiliations.Values.FirstOrDefault(entry => entry.ReservedNick == nick)?.Jid;

    public IEnumerable<AffiliationEntry> AffiliationsInOrder(Affiliation affiliation) =>
        Affiliations.Values.Where(entry => entry.Affiliation == affiliation)
            .OrderBy(entry => entry.Jid.ToString(), StringComparer.Ordinal);

    /// <summary>The role an occupant with <paramref name="affiliation"/> gets on entering.</summary>
    public Role DefaultRole(Affiliation affiliation) => affiliation switch
    {
        >= Affiliation.Admin => Role.Moderator,
        Affiliation.Member => Role.Participant,
        Affiliation.None when Config.MembersOnly => Role.None,
        Affiliation.None when Config.Moderated => Role.Visitor,
        Affiliation.None => Role.Participant,
        _ => Role.None,
    };

    public bool CanSeeRealJids(Occupant viewer) => Config.Whois == Whois.Anyone || viewer.Role == Role.Moderator;

    /// <summary>Whether real JIDs are hidden from <paramref name="jid"/> (who need not be in the room).</summary>
    public bool IsAnonymousFor(Jid jid)
    {
        if (Config.Whois == Whois.Anyone || AffiliationOf(jid) >= Affiliation.Admin) return false;
        return OccupantByRealJid(jid) is not { Role: Role.Moderator };
    }

    public void Apply(RoomEvent @event)
    {
        switch (@event)
        {
            case RoomCreated created:
                Reset();
                Exists = true;
                Config = created.Config;
                LockedUntil = created.LockedUntil;
                Salt = created.Salt;
                Affiliations = Affiliations.SetItem(created.Creator.Bare, new AffiliationEntry(created.Creator.Bare, Affiliation.Owner));
                break;
            case RoomConfigured configured:
                Config = configured.Config;
                LockedUntil = null;
                History = TrimmedHistory(History);
                break;
            case AffiliationChanged changed:
                Affiliations = changed.Affiliation == Affiliation.None
                    ? Affiliations.Remove(changed.Jid)
                    : Affiliations.SetItem(changed.Jid, new AffiliationEntry(changed.Jid, changed.Affiliation, changed.ReservedNick, changed.Reason));
                break;
            case SubjectChanged subject:
                Subject = subject.Subject;
                break;
            case HistoryMessageAdded added:
                History = TrimmedHistory(History.Add(added.Entry));
                break;
            case MessageRetracted retracted when History.FindIndex(entry => entry.StanzaId == retracted.StanzaId) is var index and >= 0:
                History = History.SetItem(index, History[index] with
                {
                    Stanza = StanzaText.Of(Retractions.Tombstone(History[index].Stanza, retracted)),
                });
                break;
            case ArchivedMessagesExpired expired:
                ArchiveExpiredThrough = Math.Max(ArchiveExpiredThrough, expired.ThroughSequenceNr);
                if (History.FindIndex(entry => entry.StanzaId == expired.ThroughStanzaId) is var last and >= 0)
                {
                    LastDroppedStanzaId = expired.ThroughStanzaId;
                    History = History.RemoveRange(0, last + 1);
                }
                break;
            case RoomDestroyed destroyed:
                Reset();
                Tombstone = destroyed.TombstoneUntil is { } until ? new RoomTombstone(destroyed.Reason, destroyed.AlternateVenue, until) : null;
                break;
            case OccupantSessionUpdated updated:
                ApplySessionUpdated(updated);
                break;
            case OccupantSessionLeft left:
                ApplySessionLeft(left);
                break;
            case OccupantRoleChanged roleChanged:
                ApplyRoleChanged(roleChanged);
                break;
            case OccupantStanzaCounted counted when Options.OccupantStanzaRate is { } limit:
                ApplyStanzaCounted(counted, limit);
                break;
            case RelayedStanzaProcessed relayed:
                Relays = Relays.SetItem(relayed.Relay, new RelayPosition(relayed.Relay, relayed.Session, relayed.Number));
                break;
            case RelayDelivered delivered:
                Receipts = Receipts.SetItem(delivered.Relay, new RelayReceipt(delivered.Relay, delivered.LastStanzaId, StillInRoom(delivered.Sessions)));
                break;
            case SessionLetGo letGo:
                LetGo = LetGo.LetGo(letGo);
                break;
            case LetGoTold told:
                LetGo = LetGo.Told(told);
                break;
        }
    }

    private void Reset()
    {
        Exists = false;
        Config = Options.RoomDefaults;
        LockedUntil = null;
        Salt = "";
        Tombstone = null;
        Affiliations = Affiliations.Clear();
        Subject = null;
        History = History.Clear();
        Occupants = Occupants.Clear();
        _nickByRealJid = _nickByRealJid.Clear();
        StanzaAllowances = StanzaAllowances.Clear();
        Receipts = Receipts.Clear();
        Departures = RecentDepartures.None;
        LetGo = SessionsLetGo.None;
    }

    /// <summary>The room's history and, behind it, the messages kept for netjoins.</summary>
    public int MessagesKept => Math.Max(0, Math.Max(Config.HistoryLength, Options.NetjoinBacklog));

    /// <summary>
    /// The stanza-id of the newest message no longer kept: a netjoin that reports it as its last message missed
    /// nothing, though it is gone (not in snapshots: after a restart such a netjoin is told messages may be missing).
    /// </summary>
    public string? LastDroppedStanzaId { get; private set; }

    /// <summary>
    /// The sessions of a receipt that are still in the room: a receipt covers no session that left since it was made. One made
    /// from the room's own list of a domain's sessions as it is now (<see cref="SessionJidsByDomain"/>: the own host's receipt,
    /// checked for nearly every message of a busy room) is that list, without looking each session up again.
    /// </summary>
    private IReadOnlyList<Jid> StillInRoom(IReadOnlyList<Jid> sessions)
    {
        if (_sessionJidsByDomain is { } grouped && ReferenceEquals(grouped.Of, Occupants))
            foreach (var ofDomain in grouped.ByDomain.Values)
                if (ReferenceEquals(ofDomain, sessions)) return sessions;
        return [.. sessions.Where(_nickByRealJid.ContainsKey)];
    }

    private ImmutableList<HistoryEntry> TrimmedHistory(ImmutableList<HistoryEntry> history)
    {
        var drop = history.Count - MessagesKept;
        if (drop <= 0) return history;
        LastDroppedStanzaId = history[drop - 1].StanzaId;
        return history.RemoveRange(0, drop);
    }

    private void ApplySessionUpdated(OccupantSessionUpdated updated)
    {
        var session = new OccupantSession(updated.RealJid, XElement.Parse(updated.Presence));
        var occupant = Occupants.TryGetValue(updated.Nick, out var existing)
            ? existing.WithSession(session) with { Role = updated.Role }
            : new Occupant(updated.Nick, updated.RealJid.Bare, updated.Role, [session], _entries++);
        SetOccupant(occupant);
        _nickByRealJid = _nickByRealJid.SetItem(updated.RealJid, updated.Nick);
    }

    private void ApplySessionLeft(OccupantSessionLeft left)
    {
        if (!Occupants.TryGetValue(left.Nick, out var occupant)) return;
        var remaining = occupant.WithoutSession(left.RealJid);
        if (remaining.Sessions.IsEmpty) RemoveOccupant(occupant);
        else SetOccupant(remaining);
        if (remaining.Sessions.IsEmpty && left.At is { } at) Departures = Departures.Left(left.Nick, at);
        if (_nickByRealJid.GetValueOrDefault(left.RealJid) != left.Nick) return;
        _nickByRealJid = _nickByRealJid.Remove(left.RealJid);
        ForgetInReceipts([left.RealJid]);
    }

    private void ApplyRoleChanged(OccupantRoleChanged changed)
    {
        if (!Occupants.TryGetValue(changed.Nick, out var occupant)) return;
        if (changed.Role != Role.None)
        {
            SetOccupant(occupant with { Role = changed.Role });
            return;
        }
        RemoveOccupant(occupant);
        if (changed.At is { } at) Departures = Departures.Left(changed.Nick, at);
        _nickByRealJid = _nickByRealJid.RemoveRange(occupant.Sessions.Select(session => session.RealJid));
        ForgetInReceipts([.. occupant.Sessions.Select(session => session.RealJid)]);
    }

    /// <summary>
    /// A session that left is no longer covered by its relay's receipt: should it enter again, it is a new entrant (a nick
    /// change too, until the relay's next receipt names it again).
    /// </summary>
    private void ForgetInReceipts(IReadOnlyCollection<Jid> departed)
    {
        if (Receipts.IsEmpty) return;
        foreach (var receipt in Receipts.Values.Where(receipt => receipt.Sessions.Any(departed.Contains)).ToList())
            Receipts = Receipts.SetItem(receipt.Relay, receipt with { Sessions = [.. receipt.Sessions.Where(session => !departed.Contains(session))] });
    }

    /// <summary>
    /// Allowances outlive a user's leaving (a leave and rejoin, or a nick change, which leaves first, must not refill
    /// them); those of users gone are dropped once they outnumber the occupants, so that this costs nothing per stanza.
    /// </summary>
    private void ApplyStanzaCounted(OccupantStanzaCounted counted, RateLimit limit)
    {
        if (StanzaAllowances.Count > 2 * Occupants.Count + 16)
        {
            var present = Occupants.Values.Select(occupant => occupant.BareJid).ToHashSet();
            StanzaAllowances = StanzaAllowances.RemoveRange(StanzaAllowances.Keys.Where(user => !present.Contains(user)));
        }
        StanzaAllowances = StanzaAllowances.SetItem(counted.User,
            StanzaAllowances.GetValueOrDefault(counted.User, TokenBucket.Full(limit, counted.At)).Take(limit, counted.At));
    }

    public RoomSnapshot ToSnapshot() => new(Exists, Config, LockedUntil, Salt,
        [.. Affiliations.Values.OrderBy(entry => entry.Jid.ToString(), StringComparer.Ordinal)], Subject, [.. History], Tombstone,
        [.. OccupantsByEntry.SelectMany(occupant => occupant.Sessions.Select(session => new OccupantSessionUpdated(
            occupant.Nick, session.RealJid, StanzaText.Of(session.Presence), occupant.Role)))],
        [.. Relays.Values.OrderBy(relay => relay.Relay, StringComparer.Ordinal)], ArchiveExpiredThrough,
        [.. Receipts.Values.OrderBy(receipt => receipt.Relay, StringComparer.Ordinal)], [.. LetGo.All], Departures.All);

    public void Restore(RoomSnapshot snapshot)
    {
        Reset();
        Exists = snapshot.Exists;
        Config = snapshot.Config;
        LockedUntil = snapshot.LockedUntil;
        Salt = snapshot.Salt;
        Affiliations = snapshot.Affiliations.ToImmutableDictionary(entry => entry.Jid);
        Subject = snapshot.Subject;
        History = [.. snapshot.History];
        Tombstone = snapshot.Tombstone;
        foreach (var session in snapshot.Occupants ?? []) ApplySessionUpdated(session);
        Relays = (snapshot.Relays ?? []).ToImmutableDictionary(relay => relay.Relay);
        ArchiveExpiredThrough = snapshot.ArchiveExpiredThrough;
        Receipts = (snapshot.Receipts ?? []).ToImmutableDictionary(receipt => receipt.Relay);
        LetGo = SessionsLetGo.Of(snapshot.LetGo ?? []);
        Departures = RecentDepartures.Of(snapshot.Departures ?? []);
    }
}
