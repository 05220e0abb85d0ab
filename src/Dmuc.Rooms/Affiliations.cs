using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>What an affiliation change does to the user's reserved nickname.</summary>
internal readonly record struct NickReservation(bool Replace, string? Nick)
{
    public static readonly NickReservation Keep = new(false, null);
    public static readonly NickReservation Clear = new(true, null);
    public static NickReservation Reserve(string nick) => new(true, nick);
}

/// <summary>
/// Affiliations (owner, admin, member, outcast): changing them (with the role changes they imply: ban 301,
/// members-only removal 321), announcing changes about absent users, and the muc#admin lists.
/// </summary>
internal static class Affiliations
{
    /// <summary>Whether <paramref name="actor"/> may give <paramref name="target"/> the affiliation; null actor = the room.</summary>
    public static Refusal? MaySetAffiliation(RoomData room, Jid? actor, Jid target, Affiliation affiliation)
    {
        if (room.Options.IsAdmin(target) && affiliation != Affiliation.Owner) return new Refusal(StanzaErrorCondition.NotAcceptable, "modify");
        if (actor is null) return null;
        var previous = room.Affiliations.GetValueOrDefault(target)?.Affiliation ?? Affiliation.None;
        var actorAffiliation = room.AffiliationOf(actor);
        if (actorAffiliation == Affiliation.Owner)
        {
            var lastOwnerStepsDown = actor.Bare == target && affiliation < previous
                && !room.AffiliationsInOrder(Affiliation.Owner).Any(owner => owner.Jid != target);
            return lastOwnerStepsDown ? new Refusal(StanzaErrorCondition.Conflict, "cancel") : null;
        }
        // Admins manage members and outcasts, but not owners or other admins.
        return affiliation >= Affiliation.Admin || actorAffiliation != Affiliation.Admin || previous >= Affiliation.Admin
            ? Refusal.NotAllowed
            : null;
    }

    /// <summary>
    /// Sets an affiliation. Occupants of that user (or, for a domain ban, of that domain) get the role it
    /// implies and the room sees their new presence; for an absent user the room is told by message.
    /// </summary>
    public static Refusal? SetAffiliation(RoomContext ctx, Jid? actor, Jid target, Affiliation affiliation, string? reason, NickReservation reservation)
    {
        var room = ctx.Room;
        target = target.Bare;
        if (MaySetAffiliation(room, actor, target, affiliation) is { } refusal) return refusal;
        var existing = room.Affiliations.GetValueOrDefault(target);
        var isDowngrade = (existing?.Affiliation ?? Affiliation.None) > affiliation;
        var nick = affiliation == Affiliation.None ? null : reservation.Replace ? reservation.Nick : existing?.ReservedNick;
        ctx.Emit(new AffiliationChanged(target, affiliation, nick, affiliation == Affiliation.Outcast ? reason : null));

        var role = room.DefaultRole(affiliation);
        var codes = role != Role.None ? [] : new[] { Stanzas.Status(affiliation == Affiliation.Outcast ? 301 : 321) };
        var affected = room.OccupantsInOrder.Where(occupant => occupant.BareJid == target
            || (target.Local is null && affiliation == Affiliation.Outcast && occupant.BareJid.Domain == target.Domain)).ToList();
        if (affected.Count == 0)
        {
            AnnounceToRoom(ctx, target, affiliation, reason, codes);
            return null;
        }
        foreach (var occupant in affected)
        {
            var newRole = occupant.Role != role && (isDowngrade || occupant.Role < role) ? role : occupant.Role;
            if (newRole != occupant.Role) ctx.Emit(new OccupantRoleChanged(occupant.Nick, newRole, ctx.Now));
            var shown = newRole == Role.None ? occupant with { Role = Role.None } : room.OccupantByNick(occupant.Nick)!;
            PresenceBroadcast.Publicise(ctx, shown, new PresenceNotice
            {
                Codes = codes, Actor = actor, Reason = reason, PreviousRole = occupant.Role,
            });
            Moderation.RevealJidsIfModeratorChanged(ctx, shown, occupant.Role);
        }
        return null;
    }

    /// <summary>XEP-0045 example 195: an affiliation change of someone not in the room, told to those who may
    /// see real JIDs.</summary>
    private static void AnnounceToRoom(RoomContext ctx, Jid target, Affiliation affiliation, string? reason, IEnumerable<XElement> codes)
    {
        var message = Stanzas.Message(ctx.Room.RoomJid.ToString())
            .WithChild(Stanzas.MucUserX(codes, Stanzas.Item(affiliation, jid: target.ToString(), reason: reason)));
        ctx.Broadcast(message, ctx.Room.CanSeeRealJids);
    }

    public static void HandleAdminQuerySet(StanzaContext ctx)
    {
        var room = ctx.Room;
        if (ctx.Payload!.Element(Ns.MucAdmin + "item") is not { } item)
        {
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "cancel");
            return;
        }
        Jid? jid = null;
        if (item.Attribute("jid")?.Value is { } jidText)
        {
            if (!Jid.TryParse(jidText, out jid) || jid.IsFull)
            {
                ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", jid is null ? null : "Bare JID expected, got full JID");
                return;
            }
        }
        var nick = item.Attribute("nick")?.Value is { } nickText ? Nickname.Map(nickText) : null;
        if (nick is not null && Nickname.Check(nick, ctx.Options.MaxNickLength) != Nickname.Problem.None)
        {
            ctx.ReplyError(StanzaErrorCondition.JidMalformed, "modify", "invalid nickname");
            return;
        }
        var affiliationText = item.Attribute("affiliation")?.Value;
        var roleText = item.Attribute("role")?.Value;
        // Clients name the user by nick for affiliations, or by JID for roles; accept both.
        jid ??= nick is null ? null : room.OccupantByNick(nick)?.BareJid;
        if (roleText is not null && nick is null && jid is not null)
            nick = room.OccupantsInOrder.FirstOrDefault(occupant => occupant.BareJid == jid)?.Nick;
        var reason = item.Element(Ns.MucAdmin + "reason")?.Value;

        Refusal? refusal;
        if (affiliationText is not null && jid is not null && roleText is null)
            refusal = MucNames.TryParseAffiliation(affiliationText, out var affiliation)
                ? SetAffiliationByAdmin(ctx, jid, affiliation, nick, reason)
                : new Refusal(StanzaErrorCondition.NotAcceptable, "modify");
        else if (roleText is not null && nick is not null && affiliationText is null)
            refusal = MucNames.TryParseRole(roleText, out var role)
                ? Moderation.SetRole(ctx, ctx.From, nick, role, reason)
                : new Refusal(StanzaErrorCondition.NotAcceptable, "modify");
        else
            refusal = new Refusal(StanzaErrorCondition.BadRequest, "cancel");

        if (refusal is { } refused) refused.Send(ctx);
        else ctx.ReplyResult();
    }

    /// <summary>An admin's affiliation change; with a nick it also reserves that nick, evicting whoever else
    /// is in the room under it.</summary>
    private static Refusal? SetAffiliationByAdmin(StanzaContext ctx, Jid jid, Affiliation affiliation, string? nick, string? reason)
    {
        if (MaySetAffiliation(ctx.Room, ctx.From, jid, affiliation) is { } refusal) return refusal;
        if (nick is null) return SetAffiliation(ctx, ctx.From, jid, affiliation, reason, NickReservation.Keep);
        if (ctx.Room.OccupantByNick(nick) is { } holder && holder.BareJid != jid)
            Moderation.SetRole(ctx, null, nick, Role.None, "This nickname is reserved");
        return SetAffiliation(ctx, ctx.From, jid, affiliation, reason, NickReservation.Reserve(nick));
    }

    public static void HandleAdminQueryGet(StanzaContext ctx)
    {
        var item = ctx.Payload!.Element(Ns.MucAdmin + "item");
        var affiliationText = item?.Attribute("affiliation")?.Value;
        var roleText = item?.Attribute("role")?.Value;
        if (affiliationText is not null && roleText is null && MucNames.TryParseAffiliation(affiliationText, out var affiliation))
            HandleAffiliationListQuery(ctx, affiliation);
        else if (roleText is not null && affiliationText is null && MucNames.TryParseRole(roleText, out var role))
            Moderation.HandleRoleListQuery(ctx, role);
        else
            ctx.ReplyError(StanzaErrorCondition.BadRequest, "cancel");
    }

    /// <summary>
    /// Admins see lists up to their own rank; in members-only non-anonymous rooms members may read them too
    /// (there is nothing to hide from them).
    /// </summary>
    private static void HandleAffiliationListQuery(StanzaContext ctx, Affiliation affiliation)
    {
        var room = ctx.Room;
        var asker = room.AffiliationOf(ctx.From);
        var allowed = (asker >= Affiliation.Admin && asker >= affiliation)
                      || (room.Config.MembersOnly && room.Config.Whois == Whois.Anyone && asker >= Affiliation.Member);
        if (!allowed)
        {
            ctx.ReplyError(StanzaErrorCondition.Forbidden, "auth");
            return;
        }
        var items = room.AffiliationsInOrder(affiliation).Select(entry =>
            Stanzas.Item(affiliation, jid: entry.Jid.ToString(), nick: entry.ReservedNick, reason: entry.Reason, ns: Ns.MucAdmin));
        ctx.ReplyResult(new XElement(Ns.MucAdmin + "query", items));
    }
}
