namespace Dmuc.Xmpp;

public sealed class ComponentConnectionOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = 5347;

    /// <summary>The component's domain, e.g. muc.example.org: the stream's <c>to</c>.</summary>
    public required string Domain { get; init; }

    public required string Secret { get; init; }

    /// <summary>A single space is sent after this long without any outbound data (RFC 6120 §4.6.1).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Limit for TCP connect, stream header and handshake together.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long closing waits for queued output to flush and for the server's &lt;/stream:stream&gt;.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A stanza larger than this (bytes, as the server sends it) is skipped and refused to its sender alone
    /// (<see cref="RefusedStanza"/>); the stream goes on.
    /// </summary>
    public int MaxStanzaBytes { get; init; } = XmppStreamParser.DefaultMaxStanzaBytes;

    /// <summary>A stanza whose elements nest deeper than this (the stanza is level 1) is refused like one too large.</summary>
    public int MaxStanzaDepth { get; init; } = XmppStreamParser.DefaultMaxDepth;

    /// <summary>
    /// The budget for output queued or being written but not yet accepted by the socket. Over it the connection is
    /// <see cref="ComponentConnection.IsOverBudget"/> and the node takes no new work from users (<see cref="LoadShedding"/>)
    /// until the server catches up; what the node had already taken still goes out. Only a server
    /// <see cref="DeadServerFactor"/> times this far behind that takes none of it for <see cref="DeadServerPatience"/> (or
    /// <see cref="DeadServerCeilingFactor"/> times this far behind) is treated as dead and the connection fails, instead of
    /// memory growing without bound.
    /// </summary>
    public int MaxQueuedBytes { get; init; } = DefaultMaxQueuedBytes;

    public const int DefaultMaxQueuedBytes = 16 * 1024 * 1024;

    /// <summary>
    /// How far past <see cref="MaxQueuedBytes"/> the queue may grow with work taken before the budget was reached
    /// (a room's mailbox, other hosts' broadcasts) before a server that takes none of it (<see cref="DeadServerPatience"/>)
    /// counts as dead.
    /// </summary>
    public const int DeadServerFactor = 4;

    /// <summary>
    /// How long a server with <see cref="DeadServerQueuedBytes"/> queued may take none of it before it counts as dead. One that
    /// reads, however slowly, keeps its stream: cutting it would drop what the rooms decided before they began refusing (every
    /// occupant's copy of a join taken, the entrant's own presence) while the server was about to have it.
    /// </summary>
    public TimeSpan DeadServerPatience { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How far behind a server counts as dead even while it reads: the bound on the memory a stream may hold.</summary>
    public const int DeadServerCeilingFactor = 16;

    /// <summary>The queue that cuts the stream of a server that takes none of it: <see cref="DeadServerFactor"/> × <see cref="MaxQueuedBytes"/>.</summary>
    public long DeadServerQueuedBytes => (long)DeadServerFactor * MaxQueuedBytes;

    /// <summary>The queue that cuts the stream regardless: <see cref="DeadServerCeilingFactor"/> × <see cref="MaxQueuedBytes"/>.</summary>
    public long DeadServerCeilingBytes => (long)DeadServerCeilingFactor * MaxQueuedBytes;
}
