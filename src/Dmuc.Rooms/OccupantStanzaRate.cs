using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// How fast one user may talk in a room (Prosody's mod_muc_limits): groupchat messages and presence changes of
/// an occupant count against <see cref="MucServiceOptions.OccupantStanzaRate"/>, per bare JID. Beyond it the stanza
/// is refused to its sender, never dropped unsaid. Entering and leaving are never refused: leaving must always work.
/// </summary>
internal static class OccupantStanzaRate
{
    private const string TooFast = "You are sending faster than this room allows; wait a moment and try again";

    /// <summary>Counts the stanza, or answers it with policy-violation (wait) and returns true when over the limit.</summary>
    public static bool Refuse(StanzaContext ctx, Occupant sender)
    {
        // Stanzas a replica held through a netsplit were sent over its whole length, and those a server hands a node again
        // (stream acknowledgements) at the user's pace before the node's previous life died: counting them now would refuse them.
        if (ctx.Options.OccupantStanzaRate is not { } limit || ctx.SentAt is not null || ctx.Resent) return false;
        var allowance = ctx.Room.StanzaAllowances.GetValueOrDefault(sender.BareJid, TokenBucket.Full(limit, ctx.Now));
        if (!allowance.HasToken(limit, ctx.Now))
        {
            ctx.ReplyError(StanzaErrorCondition.PolicyViolation, "wait", TooFast);
            return true;
        }
        ctx.Emit(new OccupantStanzaCounted(sender.BareJid, ctx.Now));
        return false;
    }
}
