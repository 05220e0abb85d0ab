using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Component;

/// <summary>
/// What the node's own XMPP server last handed each of a room's sessions (docs/protocol/delivered.md): the stanza-id of the
/// newest message of the room it routed to each, by the session's full JID. A session the server does not name got nothing
/// of the room it can tell of.
/// </summary>
public sealed record LastDelivered(IReadOnlyDictionary<Jid, string> StanzaIdBySession)
{
    public string? Of(Jid session) => StanzaIdBySession.GetValueOrDefault(session);
}

/// <summary>The node's side of the query (docs/protocol/delivered.md): the iq it sends, and how the answer reads.</summary>
public static class DeliveredProtocol
{
    public static readonly XNamespace Ns = "urn:xmpp:tmp:dmuc:delivered:0";

    // Answers to these ids are the queries'; nothing else the node sends uses the prefix.
    private const string IdPrefix = "dmuc-delivered-";

    /// <summary>
    /// Asked of the component's own domain (the room's), as the stream's acknowledgements are: a server with the module
    /// answers; one without routes it back to its addressee, this component.
    /// </summary>
    public static XElement Query(Jid room, long number) => new(Xmpp.Ns.Client + "iq",
        new XAttribute("type", "get"), new XAttribute("id", IdPrefix + number), new XAttribute("from", room.Domain), new XAttribute("to", room.Domain),
        new XElement(Ns + "delivered", new XAttribute("room", room.ToString())));

    /// <summary>
    /// The query number <paramref name="stanza"/> settles, if it is an answer to one of the node's queries, or a query come
    /// back (the server has no module); null for anything else.
    /// </summary>
    public static long? AnswerTo(XElement stanza) =>
        stanza.Name == Xmpp.Ns.Client + "iq" && (string?)stanza.Attribute("id") is { } id && id.StartsWith(IdPrefix, StringComparison.Ordinal)
        && long.TryParse(id.AsSpan(IdPrefix.Length), out var number)
        && ((string?)stanza.Attribute("type") is "result" or "error"
            || ((string?)stanza.Attribute("type") == "get" && stanza.Element(Ns + "delivered") is not null))
            ? number : null;

    /// <summary>What the server says for <paramref name="room"/>; null when it cannot say (an error, the query come back, another room).</summary>
    public static LastDelivered? Read(XElement answer, Jid room)
    {
        if ((string?)answer.Attribute("type") != "result" || answer.Element(Ns + "delivered") is not { } delivered
            || (string?)delivered.Attribute("room") != room.ToString()) return null;
        var sessions = new Dictionary<Jid, string>();
        foreach (var session in delivered.Elements(Ns + "session"))
        {
            if (Jid.TryParse((string?)session.Attribute("jid"), out var jid) && (string?)session.Attribute("last-stanza-id") is { Length: > 0 } id)
                sessions[jid] = id;
        }
        return new LastDelivered(sessions);
    }
}

/// <summary>
/// The node's queries waiting for their answer: asked by rooms from their threads, sent by the outbox on the stream that is
/// attached (or on the next one), answered from the stream's reading thread. A query unanswered in time completes with
/// null: the server cannot say.
/// </summary>
public sealed class DeliveredQueries
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Pending> _pending = [];
    private long _lastNumber;

    /// <summary>A new query for <paramref name="room"/>: the iq to send, and its answer.</summary>
    public (XElement Query, Task<LastDelivered?> Answer) Ask(Jid room, TimeSpan timeout)
    {
        var answer = new TaskCompletionSource<LastDelivered?>(TaskCreationOptions.RunContinuationsAsynchronously);
        long number;
        lock (_lock)
        {
            number = ++_lastNumber;
            _pending[number] = new Pending(room, answer);
        }
        var expiry = new CancellationTokenSource(timeout);
        expiry.Token.Register(() =>
        {
            Complete(number, null);
            expiry.Dispose();
        });
        return (DeliveredProtocol.Query(room, number), answer.Task);
    }

    /// <summary>The queries still waiting, to send again on a new stream (an answer on the old one will not come).</summary>
    public IReadOnlyList<XElement> Waiting()
    {
        lock (_lock) return [.. _pending.Select(pending => DeliveredProtocol.Query(pending.Value.Room, pending.Key))];
    }

    /// <summary>Whether <paramref name="stanza"/> is an answer to a query (taken here, never routed to a room).</summary>
    public bool TakeAnswer(XElement stanza)
    {
        if (DeliveredProtocol.AnswerTo(stanza) is not { } number) return false;
        Pending? pending;
        lock (_lock) pending = _pending.GetValueOrDefault(number);
        if (pending is not null) Complete(number, DeliveredProtocol.Read(stanza, pending.Room));
        return true;
    }

    private void Complete(long number, LastDelivered? answer)
    {
        Pending? pending;
        lock (_lock)
        {
            if (!_pending.Remove(number, out pending)) return;
        }
        pending.Answer.TrySetResult(answer);
    }

    private sealed record Pending(Jid Room, TaskCompletionSource<LastDelivered?> Answer);
}
