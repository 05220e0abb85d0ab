using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>Discussion history (XEP-0045 §7.2.15): kept per room, replayed to entering sessions.</summary>
public static class History
{
    /// <summary>
    /// Whether a broadcast message belongs in the history: messages with a body, and others only when a
    /// processing hint, encryption or a chat marker says they matter.
    /// </summary>
    public static bool IsHistoric(XElement message)
    {
        if (message.Element(Stanzas.Hints + "no-store") is not null || message.Element(Stanzas.Hints + "no-permanent-store") is not null)
            return false;
        return message.Element(Stanzas.Hints + "store") is not null
               // XEP-0424: a retraction is kept so that those who catch up later learn of it.
               || message.Element(Retractions.Retract + "retract") is not null
               || message.Element(Ns.Client + "body") is not null
               || message.Element((XNamespace)"urn:xmpp:eme:0" + "encryption") is not null
               || message.Elements().Any(child => child.Name.Namespace == "urn:xmpp:chat-markers:0");
    }

    /// <summary>
    /// Whether the history holds a message <paramref name="sender"/> sent with the id <paramref name="id"/>: how a stanza the
    /// server hands the room again (after the node's stream ended before acknowledging it) is known to be processed already.
    /// A message without an id of its own, or older than the history, is not recognised.
    /// </summary>
    public static bool HasMessage(IReadOnlyList<HistoryEntry> history, Jid sender, string id)
    {
        if (id.Length == 0) return false;
        for (var i = history.Count - 1; i >= 0; i--)
        {
            var entry = history[i];
            if (entry.SenderBareJid == sender && (string?)XElement.Parse(entry.Stanza).Attribute("id") == id) return true;
        }
        return false;
    }

    /// <summary>Keeps a message in the history, stamped with when its sender sent it.</summary>
    internal static void Record(StanzaContext ctx, XElement message, Occupant sender, string stanzaId)
    {
        if (IsHistoric(message)) Keep(ctx, message, sender, stanzaId);
    }

    /// <summary>Keeps a message the room sends in its history and archive, whatever it holds.</summary>
    internal static void Keep(StanzaContext ctx, XElement message, Occupant sender, string stanzaId)
    {
        if (ctx.Room.MessagesKept <= 0) return;
        ctx.Emit(new HistoryMessageAdded(new HistoryEntry(
            StanzaText.Of(message), sender.BareJid, sender.Nick, ctx.SentAt ?? ctx.Now, stanzaId)));
    }

    /// <summary>Sends the history an entering session asked for (its muc &lt;history/&gt; limits), each
    /// message marked as delayed by the room.</summary>
    internal static void SendTo(StanzaContext ctx, Jid to)
    {
        var config = ctx.Room.Config;
        foreach (var entry in Requested(ctx.Room.History, entry => entry.Stanza.Length, entry => entry.Timestamp,
                     ctx.Stanza.Element(Ns.Muc + "x")?.Element(Ns.Muc + "history"), config.HistoryLength, config.DefaultHistoryMessages, ctx.Now))
        {
            ctx.Send(to, Delayed(ctx.Room.RoomJid, entry));
        }
    }

    /// <summary>A kept message as it is replayed later: marked as delayed by the room (XEP-0203).</summary>
    public static XElement Delayed(Jid room, HistoryEntry entry) =>
        XElement.Parse(entry.Stanza).WithChild(Stanzas.Delay(room, entry.Timestamp));

    /// <summary>
    /// The newest of <paramref name="history"/> an entrant gets for its &lt;history/&gt; request (maxchars, maxstanzas,
    /// seconds, since), never more than the room's history length nor, unasked, its default.
    /// </summary>
    /// <param name="chars">How many characters a message counts for maxchars.</param>
    /// <param name="stamp">When a message was sent, for seconds and since.</param>
    public static IEnumerable<T> Requested<T>(IReadOnlyList<T> history, Func<T, int> chars, Func<T, DateTimeOffset> stamp, XElement? limits,
        int historyLength, int? defaultMessages, DateTimeOffset now)
    {
        var maxChars = Number(limits?.Attribute("maxchars"));
        var maxStanzas = Number(limits?.Attribute("maxstanzas"));
        var since = Since(limits, now);
        // What the room keeps beyond its history length is for netjoins, never for entrants.
        maxStanzas = Math.Min(maxStanzas ?? defaultMessages ?? int.MaxValue, Math.Max(0, historyLength));
        var count = 0;
        var total = 0;
        // Walk back from the newest message until a limit is reached.
        for (var index = history.Count - 1; index >= 0; index--)
        {
            var entry = history[index];
            total += chars(entry);
            if (total > maxChars || stamp(entry) < since || count + 1 > maxStanzas) break;
            count++;
        }
        return history.Skip(history.Count - count);
    }

    private static DateTimeOffset? Since(XElement? limits, DateTimeOffset now)
    {
        DateTimeOffset? since = DateTimeOffset.TryParse(limits?.Attribute("since")?.Value, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
        if (Number(limits?.Attribute("seconds")) is not { } seconds) return since;
        var window = now.AddSeconds(-seconds);
        return since is null || window > since ? window : since;
    }

    private static int? Number(XAttribute? attribute) =>
        int.TryParse(attribute?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
