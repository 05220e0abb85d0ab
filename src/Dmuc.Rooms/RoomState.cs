using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// One room. <see cref="Process"/> decides what a command leads to (events and stanzas to send) without
/// changing anything; <see cref="Apply"/> makes an event part of the room, live or when replaying the journal.
/// </summary>
public sealed class RoomState
{
    private readonly RoomData _room;

    public RoomState(Jid roomJid, MucServiceOptions options)
    {
        _room = new RoomData(roomJid.Bare, options);
    }

    public Jid RoomJid => _room.RoomJid;
    /// <summary>Created and not destroyed.</summary>
    public bool Exists => _room.Exists;
    public bool IsPersistent => _room.Exists && _room.Config.Persistent;
    public int OccupantCount => _room.Occupants.Count;
    /// <summary>Nothing is lost by stopping the room now: it is empty and its state is in the journal, or gone.</summary>
    public bool CanPassivate => OccupantCount == 0 && (IsPersistent || !Exists);
    public RoomConfig Config => _room.Config;
    /// <summary>The room's entry in the service's disco#items, if it is listed there.</summary>
    public RoomListing? PublicListing => Exists && Config.Public ? new RoomListing(RoomJid, Config.Name ?? "", OccupantCount) : null;

    /// <summary>Every occupant session (one per real full JID), for routing and inspection.</summary>
    public IEnumerable<OccupantSessionView> Sessions =>
        _room.OccupantsInOrder.SelectMany(occupant => occupant.Sessions.Select(session =>
            new OccupantSessionView(occupant.Nick, session.RealJid, occupant.Role, _room.AffiliationOf(occupant.BareJid))));

    /// <summary>
    /// The real full JID of every occupant session, in the order of <see cref="Sessions"/>: for what needs only the addresses
    /// (a receipt's sessions, on every message a busy room checks), without a view and an affiliation per session.
    /// </summary>
    public IEnumerable<Jid> SessionJids => _room.OccupantsInOrder.SelectMany(occupant => occupant.Sessions).Select(session => session.RealJid);

    /// <summary>Each occupant's bare JID, in the order of <see cref="OccupantNicks"/>.</summary>
    public IEnumerable<Jid> OccupantBareJids => _room.OccupantsInOrder.Select(occupant => occupant.BareJid);

    /// <summary>Every session's real full JID with its occupant's nick, in the order of <see cref="Sessions"/>, without a view each.</summary>
    public IEnumerable<KeyValuePair<Jid, string>> SessionNicks =>
        _room.OccupantsInOrder.SelectMany(occupant => occupant.Sessions.Select(session => KeyValuePair.Create(session.RealJid, occupant.Nick)));

    /// <inheritdoc cref="RoomData.NickByRealJid"/>
    public IReadOnlyDictionary<Jid, string> NickByRealJid => _room.NickByRealJid;

    /// <inheritdoc cref="RoomData.SessionJidsByDomain"/>
    public IReadOnlyDictionary<string, IReadOnlyList<Jid>> SessionJidsByDomain => _room.SessionJidsByDomain;

    /// <summary>The discussion history entrants get (its configured length), oldest first.</summary>
    public IReadOnlyList<HistoryEntry> History =>
        _room.History.Count <= _room.Config.HistoryLength ? _room.History : _room.History.Skip(_room.History.Count - Math.Max(0, _room.Config.HistoryLength)).ToList();

    /// <summary>The XEP-0359 id of the newest message kept (the history or the netjoin backlog behind it); null if none.</summary>
    public string? NewestKeptStanzaId => _room.History.IsEmpty ? null : _room.History[^1].StanzaId;

    /// <summary>The journal position up to which retention expired the archive: the journal may delete its events up to there.</summary>
    public long ArchiveExpiredThrough => _room.ArchiveExpiredThrough;

    /// <summary>The nicks of the occupants now in the room, in roster order.</summary>
    public IEnumerable<string> OccupantNicks => _room.OccupantsInOrder.Select(occupant => occupant.Nick);

    /// <summary>
    /// The current presence of the occupant <paramref name="nick"/> as each of <paramref name="recipients"/> sees it
    /// (a self-presence with 110 for the occupant's own sessions), as if they had just entered. Nothing for a nick
    /// not in the room or whose role the room does not broadcast.
    /// </summary>
    public IReadOnlyList<Delivery> PresenceOf(string nick, IEnumerable<Jid> recipients)
    {
        if (_room.OccupantByNick(nick) is not { } occupant) return [];
        var ctx = new RoomContext(_room.Copy(), DateTimeOffset.UtcNow);
        foreach (var recipient in recipients) PresenceBroadcast.SendPresenceOf(ctx, occupant, recipient);
        return ctx.ToDecision().Deliveries;
    }

    /// <summary>A message of <see cref="History"/> as an entering session gets it: delayed by the room (XEP-0203).</summary>
    public XElement Replayed(HistoryEntry entry) => Dmuc.Rooms.History.Delayed(RoomJid, entry);

    /// <summary>The subject as an entering session gets it, last of its entry (XEP-0045 §7.2.15).</summary>
    public XElement SubjectForEntrant() => Subject.ForEntrant(_room);

    /// <summary>
    /// The messages kept (the history and the netjoin backlog behind it) after the message with XEP-0359 id
    /// <paramref name="stanzaId"/>, each as a delayed message (XEP-0203) with the time the room accepted it; all of
    /// them when the id is null or no longer kept, and then <c>Complete</c> tells whether that reaches back far enough:
    /// false when the id was given but is older than anything kept (messages after it were dropped).
    /// </summary>
    public (IReadOnlyList<(XElement Message, DateTimeOffset AcceptedAt)> Messages, bool Complete) HistoryAfter(string? stanzaId)
    {
        var history = _room.History;
        var found = stanzaId is null ? -1 : history.FindLastIndex(entry => entry.StanzaId == stanzaId);
        var complete = stanzaId is null || found >= 0 || history.Count < _room.MessagesKept || stanzaId == _room.LastDroppedStanzaId;
        return (history.Skip(found + 1).Select(entry => (Dmuc.Rooms.History.Delayed(RoomJid, entry), entry.Timestamp)).ToList(), complete);
    }

    /// <summary>How far the room processed what <paramref name="relay"/> numbered for it; null if it never did.</summary>
    public RelayPosition? RelayedUpTo(string relay) => _room.Relays.GetValueOrDefault(relay);

    /// <summary>What <paramref name="relay"/>'s server was last handed (<see cref="RelayDelivered"/>); null if it never said.</summary>
    public RelayReceipt? ReceiptOf(string relay) => _room.Receipts.GetValueOrDefault(relay);

    /// <summary>The nicks that left lately (a restarted replica node's users are told them at its netjoin).</summary>
    public RecentDepartures Departures => _room.Departures;

    /// <summary>The sessions the room let go without their word, for their hosts' netjoins.</summary>
    public SessionsLetGo LetGo => _room.LetGo;

    /// <summary>Every relay's last receipt, by relay.</summary>
    public IEnumerable<RelayReceipt> Receipts => _room.Receipts.Values.OrderBy(receipt => receipt.Relay, StringComparer.Ordinal);

    /// <summary>
    /// An XEP-0199 ping from the room to each occupant session <paramref name="probed"/> selects: a session that no
    /// longer exists is answered for by its server with an error (service-unavailable), and the room takes an error to
    /// its own address as the session being gone (status 333, as for any stanza the session bounces). How a room that
    /// lost track (its node restarted, or its XMPP server did) finds out within a round trip who is still there.
    /// </summary>
    public IReadOnlyList<Delivery> ProbeSessions(Func<Jid, bool> probed, string id) =>
        [.. SessionJids.Where(probed).Select(session => ProbeSession(RoomJid, session, id))];

    /// <summary>
    /// The room's XEP-0199 ping to one session, as <see cref="ProbeSessions"/> sends it: a replica checking its own host's
    /// sessions sends the same, so that the session's server answers both alike.
    /// </summary>
    public static Delivery ProbeSession(Jid room, Jid session, string id) =>
        new(session, new XElement(Ns.Client + "iq", new XAttribute("from", room.ToString()),
            new XAttribute("type", "get"), new XAttribute("id", id), new XElement(Ns.Ping + "ping")));

    /// <summary>
    /// Whether an error answering the room's probe (or any stanza the room sent the session) says the session is gone,
    /// by the room's own rule (a session that bounces with such an error is removed, 333); another error (a client that
    /// does not know the ping) still proves the session is there.
    /// </summary>
    public static bool SessionGone(XElement error) => Occupants.IsKickable(error);

    public void Apply(RoomEvent @event) => _room.Apply(@event);

    public RoomSnapshot ToSnapshot() => _room.ToSnapshot();

    public static RoomState FromSnapshot(Jid roomJid, MucServiceOptions options, RoomSnapshot snapshot)
    {
        var state = new RoomState(roomJid, options);
        state._room.Restore(snapshot);
        return state;
    }

    public Decision Process(RoomCommand command)
    {
        try
        {
            var ctx = command switch
            {
                HandleStanza handle => HandleStanza(handle),
                ShutDownRoom shutDown => Run(new RoomContext(_room.Copy(), shutDown.Now), Lifecycle.ShutDown),
                DestroyRoom destroy => Run(new RoomContext(_room.Copy(), destroy.Now), ctx =>
                {
                    if (ctx.Room.Exists) Lifecycle.Destroy(ctx, destroy.Reason, destroy.AlternateVenue?.ToString(), null);
                }),
                KickOccupant kick => Run(new RoomContext(_room.Copy(), kick.Now), ctx =>
                {
                    if (ctx.Room.Exists) Moderation.SetRole(ctx, actor: null, kick.Nick, Role.None, kick.Reason);
                }),
                ExpireArchivedMessages expire => Run(new RoomContext(_room.Copy(), expire.Now), ctx => Archive.Expire(ctx, expire)),
                _ => null,
            };
            return ctx?.ToDecision() ?? Decision.Nothing;
        }
        catch (Exception) when (command is HandleStanza handle)
        {
            return InternalError(handle.Stanza);
        }
    }

    private RoomContext Run(RoomContext ctx, Action<RoomContext> handler)
    {
        handler(ctx);
        DestroyIfEmptied(ctx);
        return ctx;
    }

    /// <summary>A temporary room ends when its last occupant leaves.</summary>
    private void DestroyIfEmptied(RoomContext ctx)
    {
        if (_room.Occupants.Count > 0 && ctx.Room.Occupants.IsEmpty && ctx.Room.Exists && !ctx.Room.Config.Persistent)
            ctx.Emit(new RoomDestroyed(null, null));
    }

    private RoomContext? HandleStanza(HandleStanza command)
    {
        var stanza = command.Stanza;
        if (stanza.Name.Namespace != Ns.Client || stanza.Name.LocalName is not ("message" or "presence" or "iq")) return null;
        // Without a sender there is nobody to answer.
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return null;
        if (!Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to.Bare != RoomJid)
        {
            var ctx = new StanzaContext(_room.Copy(), command.Now, stanza, from, RoomJid);
            if (!IsErrorOrResult(stanza)) ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", from: RoomJid.ToString());
            return ctx;
        }
        return Run(new StanzaContext(_room.Copy(), command.Now, stanza, from, to, command.SentAt, command.ArchiveLookup, command.Resent, command.SpokenAs),
            ctx => Dispatch((StanzaContext)ctx, command.CreationDenied));
    }

    private static void Dispatch(StanzaContext ctx, RoomCreationDenied? creationDenied)
    {
        var nick = ctx.To.Resource is { } resource ? Nickname.Map(resource) : null;
        if (!ctx.Room.Exists)
        {
            if (Lifecycle.AnsweredByTombstone(ctx)) return;
            HandleStanzaToMissingRoom(ctx, nick, creationDenied);
            return;
        }
        if (ctx.Resent && Resends.AlreadyProcessed(ctx, nick)) return;
        switch (ctx.Stanza.Name.LocalName, nick)
        {
            case ("presence", null):
                HandlePresenceToRoom(ctx);
                break;
            case ("presence", _):
                Occupants.HandlePresenceToOccupant(ctx, nick);
                break;
            case ("message", null):
                Messages.HandleMessageToRoom(ctx);
                break;
            case ("message", _):
                Messages.HandleMessageToOccupant(ctx, nick);
                break;
            case ("iq", null):
                HandleIqToRoom(ctx);
                break;
            case ("iq", _):
                if (IsValidIq(ctx)) PrivateIq.HandleIqToOccupant(ctx, nick);
                break;
        }
    }

    /// <summary>Only a joining presence (with the muc payload, to room/nick) creates a room.</summary>
    private static void HandleStanzaToMissingRoom(StanzaContext ctx, string? nick, RoomCreationDenied? creationDenied)
    {
        var isPresence = ctx.Stanza.Name.LocalName == "presence";
        if (RoomCreationQuota.IsCreationRequest(ctx.Stanza))
        {
            if (nick is null) ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", "A nickname is required");
            else if (creationDenied is not null) ctx.ReplyError(StanzaErrorCondition.PolicyViolation, creationDenied.Type, creationDenied.Text);
            else Lifecycle.HandleFirstPresence(ctx, nick);
        }
        else if (!IsErrorOrResult(ctx.Stanza) && !(isPresence && ctx.Type == "unavailable"))
        {
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel");
        }
    }

    /// <summary>Presence to the bare room: an occupant's (meant for its nick), or a join attempt without a nick.</summary>
    private static void HandlePresenceToRoom(StanzaContext ctx)
    {
        if (ctx.Room.OccupantByRealJid(ctx.From) is not null) Occupants.HandlePresenceToRoom(ctx);
        else if (ctx.Type is null) ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", "A nickname is required");
    }

    private static void HandleIqToRoom(StanzaContext ctx)
    {
        // The room asks occupants only one thing itself, whether they are still there (ProbeSessions): an error
        // answering it says they are not.
        if (ctx.Type == "error")
        {
            Occupants.HandleKickableError(ctx);
            return;
        }
        if (!IsValidIq(ctx) || ctx.Type is "result") return;
        var query = ctx.Payload!.Name;
        var isGet = ctx.Type == "get";
        if (isGet && query == Ns.DiscoInfo + "query") Disco.HandleDiscoInfo(ctx);
        else if (isGet && query == Ns.DiscoItems + "query") Disco.HandleDiscoItems(ctx);
        else if (query == Ns.MucAdmin + "query" && isGet) Affiliations.HandleAdminQueryGet(ctx);
        else if (query == Ns.MucAdmin + "query") Affiliations.HandleAdminQuerySet(ctx);
        else if (query == Ns.MucOwner + "query" && isGet) RoomConfiguration.HandleOwnerQueryGet(ctx);
        else if (query == Ns.MucOwner + "query") RoomConfiguration.HandleOwnerQuerySet(ctx);
        else if (query == Ns.Register + "query") Registration.HandleRegisterIq(ctx);
        else if (isGet && query == Ns.Ping + "ping") ctx.ReplyResult();
        else if (query == ArchiveQuery.Mam + "query") Archive.HandleQuery(ctx);
        else if (query == Retractions.Moderate + "moderate") Retractions.HandleModerate(ctx);
        else ctx.ReplyError(StanzaErrorCondition.ServiceUnavailable, "cancel");
    }

    /// <summary>RFC 6120 §8.2.3: an iq has an id and a type; a request carries exactly one payload.</summary>
    private static bool IsValidIq(StanzaContext ctx)
    {
        var valid = ctx.Stanza.Attribute("id") is not null && ctx.Type switch
        {
            "get" or "set" => ctx.Stanza.Elements().Count() == 1,
            "result" or "error" => true,
            _ => false,
        };
        if (!valid && !IsErrorOrResult(ctx.Stanza)) ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify");
        return valid;
    }

    private static bool IsErrorOrResult(XElement stanza) => stanza.Attribute("type")?.Value is "error" or "result";

    /// <summary>Process never throws: a bug answers the stanza with internal-server-error and changes nothing.</summary>
    private Decision InternalError(XElement stanza)
    {
        if (IsErrorOrResult(stanza) || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return Decision.Nothing;
        var reply = StanzaError.Reply(stanza, StanzaErrorCondition.InternalServerError, type: "wait");
        reply.Attribute("to")?.Remove();
        reply.SetAttributeValue("from", stanza.Attribute("to")?.Value ?? RoomJid.ToString());
        return new Decision([], [new Delivery(from, reply)]);
    }
}
