using System.Runtime.InteropServices;
using System.Xml.Linq;
using Dmuc.Actors.Telemetry;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Microsoft.Extensions.Logging;

namespace Dmuc.Actors.Component;

/// <summary>
/// The stanza sink in front of the component stream. Renders each distinct stanza of a batch once and
/// splices every recipient's <c>to</c>; while the stream is down it keeps a queue, bounded in stanzas and in bytes
/// (<paramref name="maxQueuedBytes"/>, the stream's own budget), that is sent first when the stream is back, so a
/// short reconnect loses nothing. While the server is behind (over the same budget) it refuses users' new stanzas
/// (<see cref="RefusedUnderLoad"/>) instead of letting output pile up. Where the server has an XEP-0033 multicast service (<see cref="UseMulticast"/>), a
/// broadcast to several of the host's users leaves as one stanza to that service instead of one per recipient.
/// </summary>
public sealed partial class ComponentOutbox(ILogger<ComponentOutbox> logger, DmucMetrics? metrics = null,
    int maxQueuedBytes = ComponentConnectionOptions.DefaultMaxQueuedBytes) : IStanzaSink
{
    public const int MaxQueuedWhileDisconnected = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<(RenderedStanza Stanza, string To)> _queued = new();
    private long _queuedBytes;
    private ComponentConnection? _connection;
    private MulticastRoute? _multicast;
    private long _dropped;
    private readonly DeliveredQueries _deliveredQueries = new();

    /// <summary>Whether a component stream is attached now (readiness); stanzas sent meanwhile are queued.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_lock) return _connection is not null;
        }
    }

    /// <summary>Bytes waiting for the stream to come back.</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_lock) return _queuedBytes;
        }
    }

    /// <summary>Whether <paramref name="stanza"/>, as the stream hands it, is refused because the server is behind (<see cref="LoadShedding"/>); the sender has been told.</summary>
    public bool RefusedUnderLoad(XElement stanza)
    {
        if (!ServerBehind() || LoadShedding.RefusalOf(stanza) is not { } refusal
            || !Jid.TryParse((string?)refusal.Attribute("to"), out var sender)) return false;
        Send([new Delivery(sender, refusal)]);
        metrics?.RefusedUnderLoad();
        return true;
    }

    public bool ServerBehind(long decidedNotSentBytes = 0) =>
        (Volatile.Read(ref _connection)?.QueuedBytes ?? QueuedBytes) + decidedNotSentBytes > maxQueuedBytes;

    /// <summary>One stanza per recipient: with multicast, less goes out than this.</summary>
    public long BytesToSend(IReadOnlyList<Delivery> deliveries)
    {
        long bytes = 0;
        RenderedStanza? stanza = null;
        XElement? element = null;
        foreach (var delivery in deliveries)
        {
            // Deliveries of one broadcast share one element, one after the other: each run is rendered once.
            if (!ReferenceEquals(delivery.Stanza, element))
                (element, stanza) = (delivery.Stanza, KeptRendering(delivery.Stanza));
            bytes += stanza!.GetByteCount(delivery.To.ToString());
        }
        return bytes;
    }

    /// <summary>
    /// Rendered for <see cref="BytesToSend"/>, the rendering stays on the element for <see cref="Send"/> after the journal's write,
    /// instead of a second one (about 2 % of the node's CPU at saturation). A decided stanza is not changed after: what is sent is what
    /// was counted.
    /// </summary>
    private static RenderedStanza KeptRendering(XElement element)
    {
        if (element.Annotation<RenderedStanza>() is { } kept) return kept;
        var rendered = RenderedStanza.Render(element);
        element.AddAnnotation(rendered);
        return rendered;
    }

    /// <summary>
    /// What waited while the stream was down is handed to the next stream as it attaches, so with a stream attached
    /// everything sent so far is in it: written once that stream says so.
    /// </summary>
    public Task<bool> AllWritten() => Volatile.Read(ref _connection) is { } connection ? connection.AllQueuedWritten() : Task.FromResult(false);

    /// <summary>The multicast service the current stream delivers through; null: one stanza per recipient.</summary>
    public MulticastRoute? Multicast => Volatile.Read(ref _multicast);

    public void Attach(ComponentConnection connection)
    {
        lock (_lock)
        {
            // A new stream is per-recipient until its own discovery finds the service again.
            Volatile.Write(ref _multicast, null);
            // Ahead of what waited: a replica's query must reach the server before its check of the users it relearns.
            foreach (var query in _deliveredQueries.Waiting()) connection.Send(query);
            while (_queued.TryDequeue(out var waiting))
                connection.Send(waiting.Stanza, waiting.To);
            _queuedBytes = 0;
            _queued.TrimExcess();
            _connection = connection;
        }
    }

    /// <summary>Asked on the stream attached now, else on the next one (<see cref="Attach"/>).</summary>
    public Task<LastDelivered?> LastDelivered(Jid room, TimeSpan timeout)
    {
        var (query, answer) = _deliveredQueries.Ask(room, timeout);
        lock (_lock) _connection?.Send(query);
        return answer;
    }

    /// <summary>Whether <paramref name="stanza"/>, read from the stream, answers a <see cref="LastDelivered"/> query (taken here).</summary>
    public bool TakeDeliveredAnswer(XElement stanza) => _deliveredQueries.TakeAnswer(stanza);

    public void Detach(ComponentConnection connection)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_connection, connection)) return;
            _connection = null;
            Volatile.Write(ref _multicast, null);
        }
        metrics?.MulticastInUse(false);
    }

    /// <summary>From now on, broadcasts to the host's users go through <paramref name="route"/>, as long as <paramref name="connection"/> is the stream.</summary>
    public void UseMulticast(ComponentConnection connection, MulticastRoute route)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_connection, connection)) return;
            Volatile.Write(ref _multicast, route);
        }
        metrics?.MulticastInUse(true);
    }

    /// <summary>
    /// Without multicast, each recipient gets its own copy. With it, equal stanzas (the same bytes) to several of the
    /// host's users leave as one, also where <paramref name="deliveries"/> gathers several decisions
    /// (<see cref="GatheredSends"/>): the roster presence of one occupant to the entrants of consecutive joins.
    /// <see cref="RecipientOrderMerge{TStanza}"/> keeps every recipient's order.
    /// </summary>
    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        metrics?.Delivered(deliveries.Count);
        var multicast = Volatile.Read(ref _multicast);
        var merge = multicast is null ? null : new RecipientOrderMerge<RenderedStanza>(RenderedStanza.SameBytes);
        var carried = new HashSet<RenderedStanza>(ReferenceEqualityComparer.Instance);
        var recipients = new List<string>(deliveries.Count);
        // Variants of one presence broadcast interleave (moderators see JIDs, others do not): render each once.
        var rendered = new Dictionary<XElement, RenderedStanza>(ReferenceEqualityComparer.Instance);
        var index = 0;
        while (index < deliveries.Count)
        {
            // Deliveries of one broadcast share one element, one after the other: each run is rendered once.
            var element = deliveries[index].Stanza;
            if (!rendered.TryGetValue(element, out var stanza))
            {
                rendered[element] = stanza = element.Annotation<RenderedStanza>() ?? RenderedStanza.Render(element);
                if (MulticastRoute.Carries(element)) carried.Add(stanza);
            }
            recipients.Clear();
            for (; index < deliveries.Count && ReferenceEquals(deliveries[index].Stanza, element); index++)
            {
                if (merge is null) recipients.Add(deliveries[index].To.ToString());
                else merge.Add(stanza, deliveries[index].To);
            }
            if (recipients.Count > 0) SendRendered(stanza, CollectionsMarshal.AsSpan(recipients));
        }
        if (merge is null) return;
        var grouped = new List<string>();
        foreach (var (stanza, to) in merge.Groups)
        {
            recipients.Clear();
            grouped.Clear();
            var multicastable = carried.Contains(stanza);
            foreach (var recipient in to)
                (multicastable && recipient.Domain == multicast!.HostDomain ? grouped : recipients).Add(recipient.ToString());
            if (grouped.Count < multicast!.MinRecipients)
            {
                recipients.AddRange(grouped);
                grouped.Clear();
            }
            if (recipients.Count > 0) SendRendered(stanza, CollectionsMarshal.AsSpan(recipients));
            if (grouped.Count > 0) SendMulticast(stanza, CollectionsMarshal.AsSpan(grouped), multicast);
        }
    }

    private void SendMulticast(RenderedStanza stanza, ReadOnlySpan<string> recipients, MulticastRoute route)
    {
        var service = route.Service;
        for (var start = 0; start < recipients.Length; start += route.MaxAddresses)
        {
            var chunk = recipients.Slice(start, Math.Min(route.MaxAddresses, recipients.Length - start));
            SendRendered(stanza.WithRecipients(chunk, route.ListForm), new ReadOnlySpan<string>(in service));
            metrics?.Multicast(chunk.Length);
        }
    }

    private void SendRendered(RenderedStanza stanza, ReadOnlySpan<string> recipients)
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is not null && connection.Send(stanza, recipients))
            return;
        lock (_lock)
        {
            if (_connection is not null && _connection.Send(stanza, recipients))
                return;
            foreach (var to in recipients)
            {
                var bytes = stanza.GetByteCount(to);
                while (_queued.Count > 0 && (_queued.Count >= MaxQueuedWhileDisconnected || _queuedBytes + bytes > maxQueuedBytes))
                {
                    var oldest = _queued.Dequeue();
                    _queuedBytes -= oldest.Stanza.GetByteCount(oldest.To);
                    if (++_dropped % 1000 == 1) LogDropped(logger, _dropped);
                }
                _queued.Enqueue((stanza, to));
                _queuedBytes += bytes;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The component stream is down and the queue is full: {Dropped} stanzas dropped so far")]
    private static partial void LogDropped(ILogger logger, long dropped);
}

/// <summary>
/// The host server's XEP-0033 service as the outbox uses it: messages and presence to users of
/// <paramref name="HostDomain"/> go to <paramref name="Service"/>, at most <paramref name="MaxAddresses"/> recipients a
/// stanza (the server's own limit).
/// </summary>
/// <param name="InOrder">The service keeps the component stream's order (<see cref="MulticastDiscovery.InOrderFeature"/>).</param>
/// <param name="ListForm">How the service takes the recipients (<see cref="MulticastDiscovery.CompactFeature"/>).</param>
public sealed record MulticastRoute(string Service, string HostDomain, int MaxAddresses, bool InOrder,
    RecipientListForm ListForm = RecipientListForm.BlindCopies)
{
    /// <summary>
    /// XEP-0033 carries messages and presence only, and never one that holds a recipient list already: a room reflects what a
    /// user put in a message or presence, and a list of the user's own beside the node's would have the service deliver to the
    /// user's recipients (a service reading the first list) or refuse the whole broadcast (two lists). Such a stanza goes to
    /// each recipient alone, as the user wrote it.
    /// </summary>
    public static bool Carries(XElement stanza) =>
        stanza.Name.LocalName is "message" or "presence" && !stanza.Elements().Any(IsRecipientList);

    private static bool IsRecipientList(XElement child) =>
        child.Name == AddressBlock || child.Name == CompactList;

    private static readonly XName AddressBlock = (XNamespace)MulticastDiscovery.AddressFeature + "addresses";
    private static readonly XName CompactList = (XNamespace)MulticastDiscovery.CompactFeature + "recipients";

    /// <summary>
    /// Where the service keeps the stream's order, a lone recipient's stanza goes direct: the same order, less work for
    /// the server (what a join's roster to its entrant alone still is). Where it does not, that stanza goes through it too,
    /// or it could overtake the broadcasts sent through it just before.
    /// </summary>
    public int MinRecipients => InOrder ? 2 : 1;
}
