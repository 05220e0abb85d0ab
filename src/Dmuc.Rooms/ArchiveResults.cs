using System.Globalization;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>What the requester of an archive query receives: one result message per archived message, then the
/// iq result with &lt;fin/&gt; (XEP-0313 §4.2, XEP-0059).</summary>
public static class ArchiveResults
{
    /// <param name="entries">The page's messages as the journal holds them, in the page's order.</param>
    public static IReadOnlyList<Delivery> Page(ArchiveQuery query, ArchivePage page, IReadOnlyList<HistoryEntry> entries)
    {
        var room = query.Room.ToString();
        var shown = entries.Zip(page.Messages, (entry, message) => message.Retraction is { } retraction
            ? entry with { Stanza = StanzaText.Of(Retractions.Tombstone(entry.Stanza, retraction)) }
            : entry).ToList();
        var ordered = query.FlipPage ? shown.AsEnumerable().Reverse() : shown;
        var deliveries = ordered.Select(entry => new Delivery(query.Requester, Stanzas.Message(room).WithChild(
            new XElement(ArchiveQuery.Mam + "result",
                query.QueryId is null ? null : new XAttribute("queryid", query.QueryId),
                new XAttribute("id", entry.StanzaId),
                new XElement(ArchiveQuery.Forward + "forwarded",
                    new XElement(Ns.Delay + "delay", new XAttribute("stamp", Stanzas.Stamp(entry.Timestamp))),
                    XElement.Parse(entry.Stanza)))))).ToList();
        var set = ResultSetRequest.Reply(page.Messages.Count == 0 ? null : page.Messages[0].StanzaId,
            page.Messages.Count == 0 ? null : page.Messages[^1].StanzaId, page.Count);
        deliveries.Add(new Delivery(query.Requester, Result(query, new XElement(ArchiveQuery.Mam + "fin",
            page.Complete ? new XAttribute("complete", "true") : null, set))));
        return deliveries;
    }

    /// <summary>The query cannot be answered: its paging names a message the archive does not hold, or the archive
    /// could not be read.</summary>
    public static Delivery Error(ArchiveQuery query, StanzaErrorCondition condition, string text) =>
        new(query.Requester, new XElement(Ns.Client + "iq", new XAttribute("type", "error"), new XAttribute("id", query.IqId),
            new XAttribute("from", query.Room.ToString()), StanzaError.Element(condition, text, by: query.Room.ToString())));

    private static XElement Result(ArchiveQuery query, XElement payload) =>
        new(Ns.Client + "iq", new XAttribute("type", "result"), new XAttribute("id", query.IqId),
            new XAttribute("from", query.Room.ToString()), payload);
}
