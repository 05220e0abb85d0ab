using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>What the room does with a replica's numbered forward (docs/protocol/netjoin.md §2).</summary>
public enum ForwardVerdict
{
    /// <summary>The next the room expects from that replica: processed, and acknowledged with what it caused.</summary>
    Fresh,
    /// <summary>Processed already (a resend): only acknowledged again.</summary>
    Duplicate,
    /// <summary>Forwards before it are missing (lost in a cut neither end noticed): not processed; the replica is asked to
    /// rejoin, and its netjoin brings the missing ones in order.</summary>
    Gap,
}

/// <summary>
/// The primary's side of acknowledged forwards: which of a replica's numbered forwards the room processes, how far it
/// acknowledges, and what of it the room's journal keeps (<see cref="RelayedStanzaProcessed"/>, so that a restarted
/// room does not process a resend twice). Pure: reads the room, returns events and verdicts.
/// </summary>
public static class RelayedForwards
{
    /// <summary>Whether the room processes <paramref name="number"/> from <paramref name="host"/>'s replica, and how far it has processed.</summary>
    public static (ForwardVerdict Verdict, long UpTo) Admit(RoomState room, string host, ForwardNumber number)
    {
        var upTo = UpTo(room, host, number.Session, number.Acknowledged);
        var verdict = number.Number <= upTo ? ForwardVerdict.Duplicate
            : number.Number == upTo + 1 ? ForwardVerdict.Fresh
            : ForwardVerdict.Gap;
        return (verdict, upTo);
    }

    /// <summary>
    /// How far the room processed <paramref name="session"/>'s forwards: what it recorded, or what the replica says was
    /// acknowledged (by this room before a restart that lost the record of forwards that changed nothing durable).
    /// </summary>
    public static long UpTo(RoomState room, string host, string session, long acknowledged) =>
        Math.Max(room.RelayedUpTo(host) is { } known && known.Session == session ? known.Number : 0, acknowledged);

    /// <summary>The acknowledgement of everything the room processed of <paramref name="session"/>; null if nothing.</summary>
    public static ForwardAck? AckFor(RoomState room, string host, string session) =>
        room.RelayedUpTo(host) is { } known && known.Session == session ? new ForwardAck(session, known.Number) : null;

    /// <summary>
    /// The event that records a processed forward, durable when the forward's decision is (so that the journal never
    /// holds the effect of a forward without knowing it processed it).
    /// </summary>
    public static RelayedStanzaProcessed Processed(string host, ForwardNumber number, Decision decision) =>
        new(host, number.Session, number.Number, Kept: decision.Events.Any(e => e.IsDurable));
}

/// <summary>
/// What a room answers the sender of a stanza addressed to one occupant (an in-room private message, an IQ to an
/// occupant, a mediated invitation) when that stanza's batch is withheld because the recipient's host is split from the
/// room (docs/protocol/netjoin.md §2): an error, because a netjoin's resync brings the room's roster and history, not
/// what one occupant sent another. Pure.
/// </summary>
public static class SplitBounces
{
    public const string RecipientSplitText = "the recipient's host is split from the room; try again shortly";

    /// <summary>Per replica host that gets part of <paramref name="command"/>'s outcome, the error its withholding means for the sender.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<Delivery>> For(XElement? command, IEnumerable<string> hosts)
    {
        if (command is null || !NeedsTheRecipient(command) || !Jid.TryParse(command.Attribute("from")?.Value, out var sender))
            return Empty;
        var bounces = new Dictionary<string, IReadOnlyList<Delivery>>();
        foreach (var host in hosts.Where(host => host != sender.Domain))
        {
            var error = StanzaError.Reply(command, StanzaErrorCondition.RemoteServerTimeout, RecipientSplitText, "wait");
            error.Attribute("to")?.Remove();
            bounces[host] = [new Delivery(sender, error)];
        }
        return bounces;
    }

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<Delivery>> Empty = new Dictionary<string, IReadOnlyList<Delivery>>();

    /// <summary>A private message or an IQ request to an occupant, or a mediated invitation through the room.</summary>
    private static bool NeedsTheRecipient(XElement stanza)
    {
        if (!Jid.TryParse(stanza.Attribute("to")?.Value, out var to)) return false;
        var type = stanza.Attribute("type")?.Value;
        return stanza.Name.LocalName switch
        {
            "message" when to.Resource is not null => type is null or "chat" or "normal" or "headline",
            "message" => type is not "error" && stanza.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "invite") is not null,
            "iq" => to.Resource is not null && type is "get" or "set",
            _ => false,
        };
    }
}
