using System.Security.Cryptography;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>A room's birth and end: creation by the first presence, destruction, service shutdown.</summary>
internal static class Lifecycle
{
    /// <summary>
    /// The first presence (with the muc payload) creates the room: its sender becomes owner and the room stays
    /// locked until the owner configures it (an empty form makes it an instant room).
    /// </summary>
    public static void HandleFirstPresence(StanzaContext ctx, string nick)
    {
        if (Occupants.RefuseNick(ctx, nick)) return;
        var password = ctx.Stanza.Element(Ns.Muc + "x")?.Element(Ns.Muc + "password")?.Value;
        var config = ctx.Options.RoomDefaults with { Password = string.IsNullOrEmpty(password) ? null : password };
        var lockedUntil = ctx.Options.LockNewRooms ? ctx.Now + ctx.Options.RoomLockTimeout : (DateTimeOffset?)null;
        ctx.Emit(new RoomCreated(ctx.From.Bare, config, lockedUntil, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));
        Occupants.Enter(ctx, nick, existing: null, createdRoom: true);
    }

    /// <summary>
    /// Everyone is told the room is gone (with the reason and where to go instead), then it is; a persistent room
    /// leaves a tombstone behind (<see cref="MucServiceOptions.TombstoneLifetime"/>).
    /// </summary>
    public static void Destroy(RoomContext ctx, string? reason, string? alternateVenue, string? password)
    {
        var destroy = new XElement(Ns.MucUser + "destroy",
            alternateVenue is null ? null : new XAttribute("jid", alternateVenue),
            reason is null ? null : new XElement(Ns.MucUser + "reason", reason),
            password is null ? null : new XElement(Ns.MucUser + "password", password));
        SendEveryoneAway(ctx, destroy);
        var tombstoneUntil = ctx.Room.Config.Persistent ? ctx.Now + ctx.Options.TombstoneLifetime : null;
        ctx.Emit(new RoomDestroyed(reason, alternateVenue is not null && Jid.TryParse(alternateVenue, out var venue) ? venue : null, tombstoneUntil));
    }

    /// <summary>
    /// Whether the stanza met a tombstone: anything but an error or a leave is answered <c>gone</c> with the reason
    /// and, as an XMPP URI, the alternate venue (XEP-0045 §10.9). A service admin may create the room again at once.
    /// </summary>
    public static bool AnsweredByTombstone(StanzaContext ctx)
    {
        if (ctx.Room.Tombstone is not { } tombstone || ctx.Now >= tombstone.Until) return false;
        if (ctx.Options.IsAdmin(ctx.From) && RoomCreationQuota.IsCreationRequest(ctx.Stanza)) return false;
        if (ctx.Type is "error" or "result" || (ctx.Stanza.Name.LocalName == "presence" && ctx.Type == "unavailable")) return true;
        ctx.ReplyError(StanzaErrorCondition.Gone, "cancel", tombstone.Reason,
            conditionText: tombstone.AlternateVenue is { } venue ? $"xmpp:{venue}?join" : null);
        return true;
    }

    /// <summary>The service shuts down: occupants leave with status 332 (the room itself remains if persistent).</summary>
    public static void ShutDown(RoomContext ctx)
    {
        var occupants = ctx.Room.OccupantsInOrder.ToList();
        SendEveryoneAway(ctx, Stanzas.Status(332));
        foreach (var occupant in occupants) ctx.Emit(new OccupantRoleChanged(occupant.Nick, Role.None, ctx.Now));
    }

    /// <summary>Each occupant sees only itself leave: everyone is going at once.</summary>
    private static void SendEveryoneAway(RoomContext ctx, XElement why)
    {
        foreach (var occupant in ctx.Room.OccupantsInOrder.ToList())
        {
            PresenceBroadcast.SendSelfPresence(ctx, occupant with { Role = Role.None },
                new PresenceNotice { Codes = [why], PreviousRole = occupant.Role });
        }
    }
}
