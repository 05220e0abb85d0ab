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

    public int MaxStanzaBytes { get; init; } = XmppStreamParser.DefaultMaxStanzaBytes;

    /// <summary>
    /// Output queued but not yet accepted by the socket. A server that falls this far behind is treated as
    /// dead and the connection fails, instead of memory growing without bound.
    /// </summary>
    public int MaxPendingBytes { get; init; } = 64 * 1024 * 1024;
}
