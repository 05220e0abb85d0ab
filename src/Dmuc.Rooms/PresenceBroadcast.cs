using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>What an occupant presence announces besides the occupant's own state.</summary>
internal sealed record PresenceNotice
{
    /// <summary>Children of the muc#user x placed before the item(s), for everyone (status codes, destroy).</summary>
    public IReadOnlyList<XElement> Codes { get; init; } = [];
    /// <summary>Further status codes only the occupant itself sees (100 on entering a non-anonymous room).</summary>
    public IReadOnlyList<XElement> SelfCodes { get; init; } = [];
    /// <summary>The nick the occupant is changing to (status 303).</summary>
    public string? NewNick { get; init; }
    /// <summary>Who caused the change; null when the room or the occupant itself did.</summary>
    public Jid? Actor { get; init; }
    public string? Reason { get; init; }
    /// <summary>The role before the change: leaving occupants are still announced to those who saw them.</summary>
    public Role? PreviousRole { get; init; }
}

/// <summary>
/// Tells the room about an occupant (Prosody's publicise_occupant_status). Moderators (everyone in non-anonymous
/// rooms) see real JIDs; the occupant's own sessions get their self-presence with status 110.
/// </summary>
internal static class PresenceBroadcast
{
    public static void Publicise(RoomContext ctx, Occupant occupant, PresenceNotice notice)
    {
        var views = new PresenceViews(ctx.Room, occupant, notice);
        foreach (var recipient in ctx.Room.OccupantsInOrder.Where(other => other.Nick != occupant.Nick))
        {
            var seesJids = ctx.Room.CanSeeRealJids(recipient) || recipient.BareJid == occupant.BareJid;
            if (ctx.Room.Config.Broadcasts(occupant.Role))
                ctx.SendToSessions(recipient, seesJids ? views.Full : views.Anonymous);
            else if (notice.PreviousRole is { } previous && ctx.Room.Config.Broadcasts(previous))
                ctx.SendToSessions(recipient, seesJids ? views.FullUnavailable : views.AnonymousUnavailable);
        }
        SendSelfPresence(ctx, occupant, notice);
    }

    /// <summary>The occupant's presence for one other occupant only (the answer to a presence probe).</summary>
    public static void PubliciseTo(RoomContext ctx, Occupant occupant, Occupant recipient)
    {
        var views = new PresenceViews(ctx.Room, occupant, new PresenceNotice());
        var seesJids = ctx.Room.CanSeeRealJids(recipient) || recipient.BareJid == occupant.BareJid;
        ctx.SendToSessions(recipient, seesJids ? views.Full : views.Anonymous);
    }

    /// <summary>
    /// The occupant's sessions see themselves with their real JIDs and status 110. An occupant still in the
    /// room gets each session's own presence echoed; one that left gets a single unavailable presence.
    /// </summary>
    public static void SendSelfPresence(RoomContext ctx, Occupant occupant, PresenceNotice notice)
    {
        var views = new PresenceViews(ctx.Room, occupant, notice);
        var selfX = views.X(notice.Codes.Concat(notice.SelfCodes), views.Items(withJids: true, actorJid: false), Stanzas.Status(110));
        if (occupant.Role == Role.None)
        {
            ctx.SendToSessions(occupant, views.WithPayload(views.BasePresence, selfX));
            return;
        }
        foreach (var session in occupant.Sessions)
        {
            ctx.Send(session.RealJid, views.WithPayload(Stanzas.WithFrom(session.Presence, views.From), selfX));
        }
    }

    /// <summary>
    /// Everyone already in the room, in the order they entered, sent to a session that enters (or resyncs), and with
    /// "none" broadcast on, the affiliated users who are away (so clients can show offline members).
    /// </summary>
    public static void SendOccupantList(RoomContext ctx, Jid to)
    {
        var room = ctx.Room;
        var anonymous = room.IsAnonymousFor(to);
        foreach (var occupant in room.OccupantsByEntry.Where(occupant => !occupant.HasSession(to)))
            SendPresenceOf(ctx, occupant, to);
        if (!room.Config.Broadcasts(Role.None)) return;
        foreach (var entry in room.Affiliations.Values.OrderBy(entry => entry.Jid.ToString(), StringComparer.Ordinal))
        {
            if ((entry.ReservedNick is null && anonymous) || room.Occupants.Values.Any(occupant => occupant.BareJid == entry.Jid)) continue;
            var from = entry.ReservedNick is null ? room.RoomJid.ToString() : room.OccupantJid(entry.ReservedNick);
            ctx.Send(to, Stanzas.Presence(from, "unavailable").WithChild(Stanzas.MucUserX(
                Stanzas.Item(entry.Affiliation, Role.None, anonymous ? null : entry.Jid.ToString(), entry.ReservedNick))));
        }
    }

    /// <summary>
    /// The occupant's current presence as <paramref name="to"/> sees it: its self-presence (110) when it is one of
    /// the occupant's own sessions, else the roster view (real JIDs as the room allows), if the role is broadcast.
    /// </summary>
    public static void SendPresenceOf(RoomContext ctx, Occupant occupant, Jid to)
    {
        var room = ctx.Room;
        if (occupant.HasSession(to))
        {
            var views = new PresenceViews(room, occupant, new PresenceNotice());
            var session = occupant.Sessions.First(s => s.RealJid == to);
            ctx.Send(to, views.WithPayload(Stanzas.WithFrom(session.Presence, views.From),
                views.X([], views.Items(withJids: true, actorJid: false), Stanzas.Status(110))));
            return;
        }
        var ownOccupant = occupant.BareJid == to.Bare;
        if (!ownOccupant && !room.Config.Broadcasts(occupant.Role)) return;
        var roster = room.RosterPresences.Of(room, occupant);
        ctx.Send(to, room.IsAnonymousFor(to) && !ownOccupant ? roster.Anonymous : roster.Full);
    }
}

/// <summary>
/// The variants of one occupant presence, each built once and shared by all its recipients.
/// </summary>
internal sealed class PresenceViews(RoomData room, Occupant occupant, PresenceNotice notice)
{
    private readonly string? _actorNick = notice.Actor is { } actor ? room.OccupantByRealJid(actor)?.Nick : null;
    private readonly string? _occupantId = OccupantIds.For(room, occupant.BareJid);

    /// <summary>Read at once, so that views kept for later entrants (<see cref="RosterPresences"/>) do not keep the room's state alive.</summary>
    public Affiliation Affiliation { get; } = room.AffiliationOf(occupant.BareJid);
    private XElement? _full, _anonymous, _fullUnavailable, _anonymousUnavailable;

    public string From { get; } = room.OccupantJid(occupant.Nick);

    /// <summary>The presence others see: the primary session's, or a plain unavailable one if the occupant
    /// left without saying so (kicked, banned, room destroyed).</summary>
    public XElement BasePresence => occupant.Role != Role.None || occupant.Primary.IsUnavailable
        ? Stanzas.WithFrom(occupant.Primary.Presence, From)
        : Stanzas.Presence(From, "unavailable");

    public XElement Full => _full ??= WithPayload(BasePresence, X(notice.Codes, Items(withJids: true, actorJid: true)));
    public XElement Anonymous => _anonymous ??= WithPayload(BasePresence, X(notice.Codes, Items(withJids: false, actorJid: false)));
    public XElement FullUnavailable => _fullUnavailable ??= AsUnavailable(Full);
    public XElement AnonymousUnavailable => _anonymousUnavailable ??= AsUnavailable(Anonymous);

    public XElement X(IEnumerable<XElement> codes, IEnumerable<XElement> items, XElement? trailer = null) =>
        Stanzas.MucUserX(codes.Select(code => new XElement(code)), items, trailer);

    /// <summary>One item per session when real JIDs are visible, else one item without a JID.</summary>
    public IEnumerable<XElement> Items(bool withJids, bool actorJid)
    {
        var actor = actorJid ? notice.Actor?.ToString() : null;
        return withJids
            ? occupant.Sessions.Select(session => Stanzas.Item(Affiliation, occupant.Role, session.RealJid.ToString(),
                notice.NewNick, _actorNick, actor, notice.Reason)).ToList()
            : [Stanzas.Item(Affiliation, occupant.Role, null, notice.NewNick, _actorNick, null, notice.Reason)];
    }

    public XElement WithPayload(XElement presence, XElement x)
    {
        if (_occupantId is not null) presence.Add(Stanzas.OccupantIdElement(_occupantId));
        presence.Add(x);
        return presence;
    }

    private static XElement AsUnavailable(XElement presence)
    {
        var copy = new XElement(presence);
        copy.SetAttributeValue("type", "unavailable");
        return copy;
    }
}
