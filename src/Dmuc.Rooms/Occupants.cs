using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Presence to the room: entering, presence updates, nick changes, leaving, probes.</summary>
internal static class Occupants
{
    /// <summary>Some clients send presence to the bare room JID; it is meant for their current nick.</summary>
    public static void HandlePresenceToRoom(StanzaContext ctx)
    {
        if (ctx.Room.OccupantByRealJid(ctx.From) is { } occupant) HandlePresenceToOccupant(ctx, occupant.Nick);
    }

    public static void HandlePresenceToOccupant(StanzaContext ctx, string nick)
    {
        switch (ctx.Type)
        {
            case "error":
                HandleKickableError(ctx);
                break;
            case null or "unavailable" or "probe":
                HandleNormalPresence(ctx, nick);
                break;
            case "result" or "visible" or "invisible":
                break; // some servers broadcast these; nothing to say about them
            default:
                ctx.ReplyError(StanzaErrorCondition.BadRequest, "modify");
                break;
        }
    }

    private static void HandleNormalPresence(StanzaContext ctx, string nick)
    {
        var room = ctx.Room;
        var current = room.OccupantByRealJid(ctx.From);
        var mucX = ctx.Stanza.Element(Ns.Muc + "x");
        if (current is null && mucX is null && ctx.Type is null)
        {
            // An occupant the room forgot (e.g. after a restart) keeps sending presence updates: make it rejoin.
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", Stanzas.NotInRoom);
            return;
        }
        if (ctx.Type == "unavailable")
        {
            if (current is not null) Leave(ctx, current);
            return;
        }
        if (ctx.Type == "probe")
        {
            RespondToProbe(ctx, current, nick);
            return;
        }
        if (current is not null && OccupantStanzaRate.Refuse(ctx, current)) return;
        if (current is not null && current.Nick == nick)
        {
            UpdatePresence(ctx, current, resync: mucX is not null);
            return;
        }
        if (RefuseNick(ctx, nick) || (current is null && RefuseEntry(ctx, nick))) return;
        var target = room.OccupantByNick(nick);
        if (target is not null && target.BareJid != ctx.From.Bare)
        {
            ctx.ReplyError(StanzaErrorCondition.Conflict, "cancel", from: room.OccupantJid(nick));
            return;
        }
        if (current is null) Enter(ctx, nick, target, createdRoom: false);
        else ChangeNick(ctx, current, nick, target, resync: mucX is not null);
    }

    /// <summary>Checks on the nick a session wants to take, whether entering or changing nick.</summary>
    public static bool RefuseNick(StanzaContext ctx, string nick)
    {
        var from = ctx.Room.OccupantJid(nick);
        switch (Nickname.Check(nick, ctx.Options.MaxNickLength))
        {
            case Nickname.Problem.Malformed:
                ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", "Nickname must pass strict validation", from);
                return true;
            case Nickname.Problem.TooLong:
                ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", "Nickname is too long", from);
                return true;
            case Nickname.Problem.Invisible:
                ctx.ReplyError(StanzaErrorCondition.NotAllowed, "modify", "Invisible Nicknames are forbidden", from);
                return true;
        }
        if (ctx.Room.RegisteredJid(nick) is { } owner && owner != ctx.From.Bare)
        {
            ctx.ReplyError(StanzaErrorCondition.Conflict, "cancel", from: from);
            return true;
        }
        return false;
    }

    /// <summary>Checks on someone entering an existing room, in Prosody's order.</summary>
    private static bool RefuseEntry(StanzaContext ctx, string nick)
    {
        var room = ctx.Room;
        var from = room.OccupantJid(nick);
        var affiliation = room.AffiliationOf(ctx.From);
        if (room.Config.MembersOnly && affiliation <= Affiliation.None)
        {
            ctx.ReplyError(StanzaErrorCondition.RegistrationRequired, "auth", from: from);
            return true;
        }
        if (affiliation == Affiliation.Outcast)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth", from: from);
            return true;
        }
        if (room.Config.Password is { } password && ctx.Stanza.Element(Ns.Muc + "x") is { } mucX
            && mucX.Element(Ns.Muc + "password")?.Value != password)
        {
            ctx.ReplyError(StanzaErrorCondition.NotAuthorized, "auth", from: from);
            return true;
        }
        if (room.IsLocked(ctx.Now))
        {
            ctx.ReplyError(StanzaErrorCondition.ItemNotFound, "cancel", from: from);
            return true;
        }
        if (room.Config.MaxUsers is { } maxUsers && room.Occupants.Count >= maxUsers && affiliation < Affiliation.Admin
            && room.OccupantByNick(nick)?.BareJid != ctx.From.Bare)
        {
            // §7.2.10; another session of an occupant adds nobody, and owners and admins are never shut out.
            ctx.ReplyError(StanzaErrorCondition.ServiceUnavailable, "wait", "The room is full", from);
            return true;
        }
        return false;
    }

    /// <summary>
    /// A session enters as <paramref name="nick"/> (joining <paramref name="existing"/> if its bare JID is
    /// already there under that nick): it gets the others' presence, its own, the history, then the subject.
    /// </summary>
    public static void Enter(StanzaContext ctx, string nick, Occupant? existing, bool createdRoom)
    {
        var room = ctx.Room;
        var role = existing?.Role ?? room.DefaultRole(room.AffiliationOf(ctx.From));
        ctx.Emit(new OccupantSessionUpdated(nick, ctx.From, OwnPresence(ctx), role));
        PresenceBroadcast.SendOccupantList(ctx, ctx.From);
        var nonAnonymous = room.Config.Whois == Whois.Anyone ? new[] { Stanzas.Status(100) } : [];
        var notice = createdRoom
            ? new PresenceNotice { Codes = [Stanzas.Status(201), .. nonAnonymous] }
            : new PresenceNotice { SelfCodes = nonAnonymous };
        PresenceBroadcast.Publicise(ctx, room.OccupantByNick(nick)!, notice);
        History.SendTo(ctx, ctx.From);
        Subject.SendTo(ctx, ctx.From);
    }

    private static void UpdatePresence(StanzaContext ctx, Occupant current, bool resync)
    {
        ctx.Emit(new OccupantSessionUpdated(current.Nick, ctx.From, OwnPresence(ctx), current.Role));
        if (resync) PresenceBroadcast.SendOccupantList(ctx, ctx.From);
        PresenceBroadcast.Publicise(ctx, ctx.Room.OccupantByNick(current.Nick)!, new PresenceNotice { PreviousRole = current.Role });
        if (!resync) return;
        History.SendTo(ctx, ctx.From);
        Subject.SendTo(ctx, ctx.From);
    }

    private static void Leave(StanzaContext ctx, Occupant current)
    {
        var leaving = new OccupantSession(ctx.From, Stanzas.WithoutMucPayload(ctx.Stanza));
        RemoveSession(ctx, current with { Role = Role.None, Sessions = [leaving] }, new PresenceNotice { PreviousRole = current.Role });
    }

    /// <summary>
    /// Takes the one session of <paramref name="departed"/> out of its occupant. With its last session the
    /// occupant leaves and the room sees <paramref name="departed"/>; otherwise only that session sees itself go
    /// and the room sees the occupant's remaining sessions.
    /// </summary>
    private static void RemoveSession(RoomContext ctx, Occupant departed, PresenceNotice notice)
    {
        ctx.Emit(new OccupantSessionLeft(departed.Nick, departed.Primary.RealJid, ctx.Now));
        if (ctx.Room.OccupantByNick(departed.Nick) is { } remaining)
        {
            PresenceBroadcast.SendSelfPresence(ctx, departed, notice);
            PresenceBroadcast.Publicise(ctx, remaining, new PresenceNotice { PreviousRole = notice.PreviousRole });
        }
        else
        {
            PresenceBroadcast.Publicise(ctx, departed, notice);
        }
    }

    /// <summary>
    /// A session moves to another nick. The role stays (Prosody issue #1466), so the 303 presence announcing
    /// the move still shows it; then the new nick arrives.
    /// </summary>
    private static void ChangeNick(StanzaContext ctx, Occupant current, string nick, Occupant? target, bool resync)
    {
        var moved = new OccupantSession(ctx.From, new XElement(Ns.Client + "presence", new XAttribute("type", "unavailable")));
        RemoveSession(ctx, current with { Sessions = [moved] },
            new PresenceNotice { Codes = [Stanzas.Status(303)], NewNick = nick, PreviousRole = current.Role });
        ctx.Emit(new OccupantSessionUpdated(nick, ctx.From, OwnPresence(ctx), target?.Role ?? current.Role));
        if (resync) PresenceBroadcast.SendOccupantList(ctx, ctx.From);
        PresenceBroadcast.Publicise(ctx, ctx.Room.OccupantByNick(nick)!, new PresenceNotice { PreviousRole = current.Role });
        if (!resync) return;
        History.SendTo(ctx, ctx.From);
        Subject.SendTo(ctx, ctx.From);
    }

    /// <summary>
    /// A session that bounces stanzas with a fatal error is taken out of the room (status 333 when it was
    /// the occupant's last).
    /// </summary>
    public static void HandleKickableError(StanzaContext ctx)
    {
        if (!IsKickable(ctx.Stanza) || ctx.Room.OccupantByRealJid(ctx.From) is not { } occupant) return;
        var unavailable = new XElement(Ns.Client + "presence", new XAttribute("type", "unavailable"),
            new XElement(Ns.Client + "status", "Kicked: " + (ErrorCondition(ctx.Stanza) ?? "presence error").Replace('-', ' ')));
        RemoveSession(ctx, occupant with { Role = Role.None, Sessions = [new OccupantSession(ctx.From, unavailable)] },
            new PresenceNotice { Codes = [Stanzas.Status(333)], PreviousRole = occupant.Role });
    }

    /// <summary>Whether an error stanza means the session is gone, as opposed to one that merely refused a stanza.</summary>
    public static bool IsKickable(XElement errorStanza) =>
        ErrorCondition(errorStanza) is not { } condition || KickableConditions.Contains(condition);

    private static string? ErrorCondition(XElement errorStanza) =>
        errorStanza.Element(Ns.Client + "error")?.Elements().FirstOrDefault(child => child.Name.Namespace == Ns.Stanzas)?.Name.LocalName;

    private static readonly HashSet<string> KickableConditions =
    [
        "gone", "internal-server-error", "item-not-found", "jid-malformed", "recipient-unavailable", "redirect",
        "remote-server-not-found", "remote-server-timeout", "service-unavailable",
    ];

    /// <summary>
    /// XEP-0045 presence probes (Prosody #1535): occupants may ask for another occupant's presence, or for a
    /// registered member's absence.
    /// </summary>
    private static void RespondToProbe(StanzaContext ctx, Occupant? prober, string nick)
    {
        var room = ctx.Room;
        if (prober is null)
        {
            ctx.ReplyError(StanzaErrorCondition.NotAcceptable, "cancel", Stanzas.NotInRoom, room.OccupantJid(nick));
            return;
        }
        if (room.OccupantByNick(nick) is { } probed)
        {
            PresenceBroadcast.PubliciseTo(ctx, probed, prober);
            return;
        }
        if (room.RegisteredJid(nick) is not { } member) return;
        var jid = room.IsAnonymousFor(ctx.From) ? null : member.ToString();
        ctx.Send(ctx.From, Stanzas.Presence(room.OccupantJid(nick), "unavailable")
            .WithChild(Stanzas.MucUserX(Stanzas.Item(room.AffiliationOf(member), Role.None, jid, nick))));
    }

    private static string OwnPresence(StanzaContext ctx) =>
        StanzaText.Of(Stanzas.WithoutMucPayload(ctx.Stanza));
}
