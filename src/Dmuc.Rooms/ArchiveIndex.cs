namespace Dmuc.Rooms;

/// <summary>Where the journal holds one archived message, and what queries filter it by.</summary>
/// <param name="Retraction">Set once the message was retracted: the archive shows a tombstone.</param>
public sealed record ArchivedMessage(long SequenceNr, string StanzaId, DateTimeOffset Timestamp, string Nick, MessageRetracted? Retraction = null);

/// <summary>One page of an archive query: its messages (oldest first) and the XEP-0059 figures of the whole result.</summary>
/// <param name="Complete">Nothing matches beyond this page in the direction of paging (XEP-0313 &lt;fin complete/&gt;).</param>
/// <param name="Count">How many messages match the query's filters, all pages together.</param>
public sealed record ArchivePage(IReadOnlyList<ArchivedMessage> Messages, bool Complete, int Count);

/// <summary>
/// The room's archive as a view of its journal: every message kept as history (<see cref="HistoryMessageAdded"/>)
/// while the room's archive was on, indexed by stanza-id in journal order, without its text (a page reads its
/// messages' text from the journal). Pure: fed the journal's events in order, asked for pages.
/// </summary>
public sealed class ArchiveIndex
{
    // In journal order: sorted by sequence number, so a message's position is found by binary search.
    private readonly List<ArchivedMessage> _messages = [];
    private readonly Dictionary<string, long> _sequenceNrById = [];
    // What was said while the owner had the archive off stays out of it, though the journal holds it for the history.
    // On until the room's creation says otherwise: nothing is said before it, and a journal whose oldest events were
    // deleted (retention) starts right after an archived message, when the archive was on.
    private bool _archiving = true;

    /// <summary>The journal's sequence number up to which events have been indexed.</summary>
    public long IndexedUpTo { get; private set; }

    /// <summary>The newest message that expired (retention), whether this index found it or the room's journal said so.</summary>
    public ArchivedMessage? LastExpired { get; private set; }

    public int Count => _messages.Count;

    /// <summary>Whether the archive holds the message with this stanza-id (not expired).</summary>
    public bool Holds(string stanzaId) => _sequenceNrById.ContainsKey(stanzaId);

    public void Add(long sequenceNr, RoomEvent @event)
    {
        IndexedUpTo = Math.Max(IndexedUpTo, sequenceNr);
        switch (@event)
        {
            case HistoryMessageAdded added when _archiving:
                _sequenceNrById[added.Entry.StanzaId] = sequenceNr;
                _messages.Add(new ArchivedMessage(sequenceNr, added.Entry.StanzaId, added.Entry.Timestamp, added.Entry.Nick));
                break;
            case MessageRetracted retracted when PositionOf(retracted.StanzaId) is { } position:
                _messages[position] = _messages[position] with { Retraction = retracted };
                break;
            case ArchivedMessagesExpired expired:
                RemoveOldest(_messages.FindIndex(message => message.SequenceNr > expired.ThroughSequenceNr) is var kept and >= 0 ? kept : _messages.Count);
                break;
            case RoomConfigured configured:
                _archiving = configured.Config.Archived;
                break;
            case RoomCreated created:
                // A room created again under an old name does not show the old room's discussion.
                Clear();
                _archiving = created.Config.Archived;
                break;
            case RoomDestroyed:
                Clear();
                break;
        }
    }

    /// <summary>Lets go of the messages <paramref name="retention"/> expires at <paramref name="now"/>.</summary>
    public void Expire(ArchiveRetention retention, DateTimeOffset now) => RemoveOldest(retention.ExpiredCount(_messages, now));

    private void RemoveOldest(int count)
    {
        if (count == 0) return;
        LastExpired = _messages[count - 1];
        foreach (var message in _messages.Take(count)) _sequenceNrById.Remove(message.StanzaId);
        _messages.RemoveRange(0, count);
    }

    private int? PositionOf(string stanzaId)
    {
        if (!_sequenceNrById.TryGetValue(stanzaId, out var sequenceNr)) return null;
        var position = _messages.BinarySearch(new ArchivedMessage(sequenceNr, stanzaId, default, ""), BySequenceNr);
        return position >= 0 ? position : null;
    }

    private static readonly Comparer<ArchivedMessage> BySequenceNr = Comparer<ArchivedMessage>.Create((a, b) => a.SequenceNr.CompareTo(b.SequenceNr));

    private void Clear()
    {
        _messages.Clear();
        _sequenceNrById.Clear();
    }

    /// <summary>The page the query asks for; null when its after or before id is not in the archive (item-not-found).</summary>
    public ArchivePage? Select(ArchiveQuery query)
    {
        var from = 0;
        var to = _messages.Count;
        if (query.After is { } after)
        {
            if (PositionOf(after) is not { } position) return null;
            from = position + 1;
        }
        if (query.Before is { } before)
        {
            if (PositionOf(before) is not { } position) return null;
            to = Math.Min(to, position);
        }
        // Walks only as far as the page reaches, from the end it is taken from: a page costs its own size, not the archive's.
        var page = new List<ArchivedMessage>();
        var complete = true;
        var step = query.FromEnd ? -1 : 1;
        for (var position = query.FromEnd ? to - 1 : from; position >= from && position < to; position += step)
        {
            if (!Matches(query, _messages[position])) continue;
            if (page.Count == query.Max)
            {
                complete = false;
                break;
            }
            page.Add(_messages[position]);
        }
        if (query.FromEnd) page.Reverse();
        var count = Filters(query) ? _messages.Count(message => Matches(query, message)) : _messages.Count;
        return new ArchivePage(page, complete, count);
    }

    private static bool Filters(ArchiveQuery query) => query.Start is not null || query.End is not null || query.WithNick is not null || query.Ids is not null;

    private static bool Matches(ArchiveQuery query, ArchivedMessage message) =>
        (query.Start is not { } start || message.Timestamp >= start)
        && (query.End is not { } end || message.Timestamp <= end)
        && (query.WithNick is not { } nick || message.Nick == nick)
        && (query.Ids is not { } ids || ids.Contains(message.StanzaId));
}
