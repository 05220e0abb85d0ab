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
    private readonly List<ArchivedMessage> _messages = [];
    private readonly Dictionary<string, int> _positionById = [];
    // What was said while the owner had the archive off stays out of it, though the journal holds it for the history.
    private bool _archiving;

    /// <summary>The journal's sequence number up to which events have been indexed.</summary>
    public long IndexedUpTo { get; private set; }

    public int Count => _messages.Count;

    public void Add(long sequenceNr, RoomEvent @event)
    {
        IndexedUpTo = Math.Max(IndexedUpTo, sequenceNr);
        switch (@event)
        {
            case HistoryMessageAdded added when _archiving:
                _positionById[added.Entry.StanzaId] = _messages.Count;
                _messages.Add(new ArchivedMessage(sequenceNr, added.Entry.StanzaId, added.Entry.Timestamp, added.Entry.Nick));
                break;
            case MessageRetracted retracted when _positionById.TryGetValue(retracted.StanzaId, out var position):
                _messages[position] = _messages[position] with { Retraction = retracted };
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

    private void Clear()
    {
        _messages.Clear();
        _positionById.Clear();
    }

    /// <summary>The page the query asks for; null when its after or before id is not in the archive (item-not-found).</summary>
    public ArchivePage? Select(ArchiveQuery query)
    {
        var from = 0;
        var to = _messages.Count;
        if (query.After is { } after)
        {
            if (!_positionById.TryGetValue(after, out var position)) return null;
            from = position + 1;
        }
        if (query.Before is { } before)
        {
            if (!_positionById.TryGetValue(before, out var position)) return null;
            to = Math.Min(to, position);
        }
        var inRange = new List<ArchivedMessage>();
        var count = 0;
        for (var position = 0; position < _messages.Count; position++)
        {
            var message = _messages[position];
            if (!Matches(query, message)) continue;
            if (position >= from && position < to) inRange.Add(message);
            count++;
        }
        var take = Math.Min(query.Max, inRange.Count);
        var page = query.FromEnd ? inRange.Skip(inRange.Count - take).ToList() : inRange.Take(take).ToList();
        return new ArchivePage(page, Complete: take == inRange.Count, count);
    }

    private static bool Matches(ArchiveQuery query, ArchivedMessage message) =>
        (query.Start is not { } start || message.Timestamp >= start)
        && (query.End is not { } end || message.Timestamp <= end)
        && (query.WithNick is not { } nick || message.Nick == nick)
        && (query.Ids is not { } ids || ids.Contains(message.StanzaId));
}
