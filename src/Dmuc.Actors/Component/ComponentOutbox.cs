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
/// short reconnect loses nothing.
/// </summary>
public sealed partial class ComponentOutbox(ILogger<ComponentOutbox> logger, DmucMetrics? metrics = null,
    int maxQueuedBytes = ComponentConnectionOptions.DefaultMaxQueuedBytes) : IStanzaSink
{
    public const int MaxQueuedWhileDisconnected = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<(RenderedStanza Stanza, string To)> _queued = new();
    private long _queuedBytes;
    private ComponentConnection? _connection;
    private long _dropped;

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

    public void Attach(ComponentConnection connection)
    {
        lock (_lock)
        {
            while (_queued.TryDequeue(out var waiting))
                connection.Send(waiting.Stanza, waiting.To);
            _queuedBytes = 0;
            _queued.TrimExcess();
            _connection = connection;
        }
    }

    public void Detach(ComponentConnection connection)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_connection, connection)) _connection = null;
        }
    }

    public void Send(IReadOnlyList<Delivery> deliveries)
    {
        metrics?.Delivered(deliveries.Count);
        var recipients = new List<string>(deliveries.Count);
        // Variants of one presence broadcast interleave (moderators see JIDs, others do not): render each once.
        var rendered = new Dictionary<XElement, RenderedStanza>(ReferenceEqualityComparer.Instance);
        var index = 0;
        while (index < deliveries.Count)
        {
            // Deliveries of one broadcast share one element: send each run of them as one rendered stanza.
            var element = deliveries[index].Stanza;
            recipients.Clear();
            for (; index < deliveries.Count && ReferenceEquals(deliveries[index].Stanza, element); index++)
                recipients.Add(deliveries[index].To.ToString());
            if (!rendered.TryGetValue(element, out var stanza))
                rendered[element] = stanza = RenderedStanza.Render(element);
            SendRendered(stanza, recipients);
        }
    }

    private void SendRendered(RenderedStanza stanza, List<string> recipients)
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is not null && connection.Send(stanza, CollectionsMarshal.AsSpan(recipients)))
            return;
        lock (_lock)
        {
            if (_connection is not null && _connection.Send(stanza, CollectionsMarshal.AsSpan(recipients)))
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
