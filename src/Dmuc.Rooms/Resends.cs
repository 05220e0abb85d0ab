using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// Stanzas the XMPP server hands the room again: it keeps what it handed the node until the node acknowledges it, and a
/// node that crashed first may have processed some (docs/protocol/stream-ack.md). What the room can tell it processed is
/// dropped, since its outcome went out with the first copy; anything else is processed as if new (an iq is answered again).
/// </summary>
public static class Resends
{
    /// <summary>
    /// A groupchat message its sender's history entry has (same bare JID and id), the sender in the room or spoken for
    /// (<see cref="HandleStanza.SpokenAs"/>); an entry of a session already in the room under that nick; a leave of a session no
    /// longer in it.
    /// </summary>
    internal static bool AlreadyProcessed(StanzaContext ctx, string? nick)
    {
        var occupant = ctx.Room.OccupantByRealJid(ctx.From);
        return (ctx.Stanza.Name.LocalName, ctx.Type) switch
        {
            ("message", "groupchat") => nick is null && (occupant is not null || ctx.SpokenAs is not null) && History.HasMessage(ctx.Room.History, ctx.From.Bare, ctx.Id),
            ("presence", null) => nick is not null && occupant?.Nick == nick && ctx.Stanza.Element(Ns.Muc + "x") is not null,
            ("presence", "unavailable") => occupant is null,
            _ => false,
        };
    }
}
