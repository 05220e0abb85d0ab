using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Roles: kicking (307), granting and revoking voice and moderator, the role lists.</summary>
public static class Moderation
{
    /// <summary>Changes an occupant's role; <paramref name="actor"/> is null when the room itself acts.</summary>
    internal static Refusal? SetRole(RoomContext ctx, Jid? actor, string nick, Role role, string? reason)
    {
        var room = ctx.Room;
        if (room.OccupantByNick(nick) is not { } occupant) return new Refusal(StanzaErrorCondition.ItemNotFound, "modify");
        if (actor is not null && MaySetRole(room, actor, occupant, role) is { } refusal) return refusal;
        ctx.Emit(new OccupantRoleChanged(nick, role, ctx.Now));
        var kicked = role == Role.None;
        var shown = kicked ? occupant with { Role = Role.None } : room.OccupantByNick(nick)!;
        PresenceBroadcast.Publicise(ctx, shown, new PresenceNotice
        {
            Codes = kicked ? [Stanzas.Status(307)] : [], Actor = actor, Reason = reason, PreviousRole = occupant.Role,
        });
        RevealJidsIfModeratorChanged(ctx, shown, occupant.Role);
        return null;
    }

    private static Refusal? MaySetRole(RoomData room, Jid actor, Occupant occupant, Role role) =>
        MayChangeRole(room.OccupantByRealJid(actor)?.Role ?? Role.None, room.AffiliationOf(actor), occupant.Role,
            room.AffiliationOf(occupant.BareJid), role);

    /// <summary>
    /// Whether an occupant may give another occupant a new role (XEP-0045 §8, §9.6: a kick is the role none): only a
    /// moderator, never over a higher affiliation, and moderators are made or unmade by admins and owners alone.
    /// </summary>
    public static Refusal? MayChangeRole(Role actorRole, Affiliation actorAffiliation, Role targetRole, Affiliation targetAffiliation, Role newRole)
    {
        if (actorAffiliation < targetAffiliation) return Refusal.NotAllowed;
        if ((targetRole == Role.Moderator || newRole == Role.Moderator) && actorAffiliation < Affiliation.Admin) return Refusal.NotAllowed;
        return actorRole == Role.Moderator ? null : Refusal.NotAllowed;
    }

    /// <summary>
    /// In a semi-anonymous room, becoming or ceasing to be a moderator changes whose real JIDs one sees, so
    /// the occupant gets everyone's presence again.
    /// </summary>
    internal static void RevealJidsIfModeratorChanged(RoomContext ctx, Occupant occupant, Role previousRole)
    {
        if (ctx.Room.Config.Whois == Whois.Anyone || occupant.Role == Role.None
            || (previousRole == Role.Moderator) == (occupant.Role == Role.Moderator)) return;
        foreach (var session in occupant.Sessions) PresenceBroadcast.SendOccupantList(ctx, session.RealJid);
    }

    /// <summary>muc#admin get by role (e.g. the moderator list); moderators only.</summary>
    internal static void HandleRoleListQuery(StanzaContext ctx, Role role)
    {
        var room = ctx.Room;
        var askerRole = room.OccupantByRealJid(ctx.From)?.Role ?? room.DefaultRole(room.AffiliationOf(ctx.From));
        if (askerRole < Role.Moderator)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth");
            return;
        }
        var items = room.OccupantsInOrder.Where(occupant => occupant.Role == role).SelectMany(occupant =>
            occupant.Sessions.Select(session => Stanzas.Item(room.AffiliationOf(occupant.BareJid), occupant.Role,
                session.RealJid.ToString(), occupant.Nick, ns: Ns.MucAdmin)));
        ctx.ReplyResult(new XElement(Ns.MucAdmin + "query", items));
    }
}
