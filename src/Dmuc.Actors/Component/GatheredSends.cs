using Dmuc.Rooms;

namespace Dmuc.Actors.Component;

/// <summary>
/// One room actor's sends, gathered over the decisions it makes or receives back to back and handed to the sink in one
/// call, so that the sink can send equal stanzas to several recipients once (<see cref="ComponentOutbox.Send"/>): a
/// burst of joins, each with its roster to its entrant, then costs the server one multicast per occupant instead of one
/// stanza per occupant and entrant. The first send after a flush asks for the next (<paramref name="flushDue"/>: the
/// actor tells itself, so what is already in its mailbox is decided first); what must follow every send so far
/// (a receipt, a reply that the sends are done, the actor's stop) flushes at once. Used from its actor's thread only.
/// </summary>
public sealed class GatheredSends(IStanzaSink sink, Action flushDue) : IStanzaSink
{
    private List<Delivery> _pending = [];

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        if (deliveries.Count == 0) return;
        if (_pending.Count == 0) flushDue();
        _pending.AddRange(deliveries);
    }

    /// <summary>Whether nothing waits for the next flush.</summary>
    public bool IsEmpty => _pending.Count == 0;

    /// <summary>Hands everything gathered to the sink.</summary>
    public void Flush()
    {
        if (_pending.Count == 0) return;
        var pending = _pending;
        _pending = [];
        sink.Send(pending);
    }

    /// <summary>The caller counts what it gathered in <paramref name="decidedNotSentBytes"/> (counting here would go over every gathered delivery each time).</summary>
    public bool ServerBehind(long decidedNotSentBytes = 0) => sink.ServerBehind(decidedNotSentBytes);

    public long BytesToSend(IReadOnlyList<Delivery> deliveries) => sink.BytesToSend(deliveries);

    public Task<bool> AllWritten()
    {
        Flush();
        return sink.AllWritten();
    }

    public Task<LastDelivered?> LastDelivered(Dmuc.Xmpp.Jid room, TimeSpan timeout) => sink.LastDelivered(room, timeout);

    /// <summary>What the actor tells itself when a flush is due.</summary>
    public sealed class FlushDue
    {
        public static readonly FlushDue Instance = new();
    }
}
