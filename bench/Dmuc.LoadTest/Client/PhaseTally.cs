namespace Dmuc.LoadTest.Client;

/// <summary>
/// What one client received during one measured phase. Written only by that client's receive loop; the
/// coordinator reads the counters while the phase runs and the histogram once the phase is over.
/// </summary>
public sealed class PhaseTally(int phaseId, SemaphoreSlim? ownEchoWindow, bool traced = false)
{
    private long _received;
    private long _lastReceivedTimestamp;
    private long _errors;

    public int PhaseId { get; } = phaseId;

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Every delivery of a traced phase, to find where in time and between which hosts a latency tail lies.</summary>
    public List<TracedDelivery>? Trace { get; } = traced ? [] : null;

    /// <summary>Released whenever this client's own message comes back: the closed-loop sender's window.</summary>
    public SemaphoreSlim? OwnEchoWindow { get; } = ownEchoWindow;

    public long Received => Volatile.Read(ref _received);

    /// <summary>Stopwatch timestamp of the last delivery of this phase.</summary>
    public long LastReceivedTimestamp => Volatile.Read(ref _lastReceivedTimestamp);

    /// <summary>Error stanzas (bounced messages) that arrived while this phase was current.</summary>
    public long Errors => Volatile.Read(ref _errors);

    public void RecordDelivery(long receivedAt, long latencyMicroseconds, int sender)
    {
        Latency.Record(latencyMicroseconds);
        Trace?.Add(new TracedDelivery(receivedAt, latencyMicroseconds, sender));
        Volatile.Write(ref _lastReceivedTimestamp, receivedAt);
        Volatile.Write(ref _received, _received + 1);
    }

    public void RecordError() => Interlocked.Increment(ref _errors);
}

/// <param name="ReceivedAt">Stopwatch timestamp of the delivery.</param>
public readonly record struct TracedDelivery(long ReceivedAt, long LatencyMicroseconds, int Sender);
