using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;

namespace Dmuc.Integration.Tests.Xmpp;

/// <summary>
/// A minimal real XMPP client over c2s: plain TCP, SASL PLAIN, resource binding, no initial presence.
/// Everything the server sends after binding is queued in arrival order for <see cref="ReceiveAsync"/>.
/// </summary>
public sealed class XmppTestClient : IAsyncDisposable
{
    private static readonly TimeSpan NegotiationTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);
    private const SaveOptions WireFormat = SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<XElement> _received = Channel.CreateUnbounded<XElement>(new UnboundedChannelOptions { SingleReader = true });
    private Task _readLoop = Task.CompletedTask;
    private bool _closeSent;

    private XmppTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>The bound JID, user@domain/resource.</summary>
    public string FullJid { get; private set; } = "";

    public string BareJid => FullJid.Split('/', 2)[0];

    /// <summary>False once this client sent &lt;/stream:stream&gt; or the server ended the stream.</summary>
    public bool IsConnected => !HasDisconnected && !_readLoop.IsCompleted;

    /// <summary>True once <see cref="DisconnectAsync"/> was called.</summary>
    public bool HasDisconnected => _closeSent;

    /// <summary>
    /// Connects and logs in as <paramref name="jid"/> (bare, or with the resource to bind; without one the
    /// server assigns it).
    /// </summary>
    public static async Task<XmppTestClient> ConnectAsync(XmppServerEndpoint server, string jid, string password,
        CancellationToken cancellationToken = default)
    {
        var (user, resource) = SplitJid(jid, server.Domain);
        var tcp = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(NegotiationTimeout);
        // XmlReader cannot be cancelled; closing the socket is what unblocks a negotiation that hangs.
        await using var abortOnTimeout = timeout.Token.Register(tcp.Dispose);
        try
        {
            await tcp.ConnectAsync(server.Host, server.Port, timeout.Token);
            var client = new XmppTestClient(tcp);
            await client.NegotiateAsync(server.Domain, user, password, resource, timeout.Token);
            return client;
        }
        catch (Exception error)
        {
            tcp.Dispose();
            if (error is XmppNegotiationException)
            {
                throw;
            }
            throw new XmppNegotiationException(
                $"Could not log in as {jid} at {server.Host}:{server.Port}: {error.GetType().Name}: {error.Message}", error);
        }
    }

    private async Task NegotiateAsync(string domain, string user, string password, string? resource, CancellationToken cancellationToken)
    {
        var (saslReader, saslFeatures) = await OpenStreamAsync(domain, cancellationToken);
        using (saslReader)
        {
            await AuthenticateAsync(saslReader, saslFeatures, user, password, domain, cancellationToken);
        }

        // A new stream after SASL success (RFC 6120 §6.4.6); nothing follows <success/> on the old one.
        var (reader, features) = await OpenStreamAsync(domain, cancellationToken);
        try
        {
            await BindAsync(reader, features, resource, cancellationToken);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        _readLoop = Task.Run(() => ReadLoopAsync(reader));
    }

    private async Task AuthenticateAsync(XmppStreamReader reader, XElement features, string user, string password, string domain,
        CancellationToken cancellationToken)
    {
        RequireFeature(features, XmppNamespaces.Sasl + "mechanisms", "SASL");
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync(new XElement(XmppNamespaces.Sasl + "auth", new XAttribute("mechanism", "PLAIN"), credentials), cancellationToken);
        var outcome = await ReadRequiredAsync(reader, cancellationToken);
        if (outcome.Name != XmppNamespaces.Sasl + "success")
        {
            throw new XmppNegotiationException($"SASL PLAIN for {user}@{domain} failed: {outcome}");
        }
    }

    private async Task BindAsync(XmppStreamReader reader, XElement features, string? resource, CancellationToken cancellationToken)
    {
        RequireFeature(features, XmppNamespaces.Bind + "bind", "resource binding");
        var bind = new XElement(XmppNamespaces.Bind + "bind",
            resource is null ? null : new XElement(XmppNamespaces.Bind + "resource", resource));
        var bound = await RequestAsync(reader, "bind", bind, cancellationToken);
        FullJid = bound.Element(XmppNamespaces.Bind + "bind")?.Element(XmppNamespaces.Bind + "jid")?.Value
            ?? throw new XmppNegotiationException($"Bind result without a JID: {bound}");

        // Legacy session establishment (RFC 3921), only where the server still insists on it.
        var session = features.Element(XmppNamespaces.Session + "session");
        if (session is not null && session.Element(XmppNamespaces.Session + "optional") is null)
        {
            await RequestAsync(reader, "session", new XElement(XmppNamespaces.Session + "session"), cancellationToken);
        }
    }

    private async Task<(XmppStreamReader Reader, XElement Features)> OpenStreamAsync(string domain, CancellationToken cancellationToken)
    {
        await SendAsync(
            $"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>",
            cancellationToken);
        var reader = new XmppStreamReader(_stream);
        await reader.ReadStreamHeaderAsync();
        var features = await ReadRequiredAsync(reader, cancellationToken);
        if (features.Name != XmppNamespaces.Streams + "features")
        {
            reader.Dispose();
            throw new XmppNegotiationException($"Expected <stream:features>, got {features}");
        }
        return (reader, features);
    }

    private async Task<XElement> RequestAsync(XmppStreamReader reader, string id, XElement payload, CancellationToken cancellationToken)
    {
        await SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("type", "set"), new XAttribute("id", id), payload), cancellationToken);
        var response = await ReadRequiredAsync(reader, cancellationToken);
        if (response.Name != XmppNamespaces.Client + "iq" || (string?)response.Attribute("id") != id || (string?)response.Attribute("type") != "result")
        {
            throw new XmppNegotiationException($"The {payload.Name.LocalName} request failed: {response}");
        }
        return response;
    }

    private static async Task<XElement> ReadRequiredAsync(XmppStreamReader reader, CancellationToken cancellationToken) =>
        await reader.ReadElementAsync(cancellationToken)
        ?? throw new XmppNegotiationException("The server closed the stream during login.");

    private static void RequireFeature(XElement features, XName feature, string description)
    {
        if (features.Element(feature) is null)
        {
            throw new XmppNegotiationException($"The server does not offer {description}: {features}");
        }
    }

    private async Task ReadLoopAsync(XmppStreamReader reader)
    {
        using (reader)
        {
            try
            {
                while (await reader.ReadElementAsync(CancellationToken.None) is { } element)
                {
                    // As every real client does (XEP-0199): a MUC service that lost track asks whether we are still there.
                    if (IsPing(element))
                    {
                        await AnswerPingAsync(element);
                        continue;
                    }
                    _received.Writer.TryWrite(element);
                }
            }
            catch (Exception error) when (error is IOException or ObjectDisposedException or System.Xml.XmlException)
            {
                // The connection went away (or we closed it): the stream is over either way.
            }
            finally
            {
                _received.Writer.TryComplete();
            }
        }
    }

    private static bool IsPing(XElement element) =>
        element.Name == XmppNamespaces.Client + "iq" && (string?)element.Attribute("type") == "get"
        && element.Elements().SingleOrDefault()?.Name == XNamespace.Get("urn:xmpp:ping") + "ping";

    /// <summary>How many XEP-0199 pings this client answered (a room that lost track asks).</summary>
    public int PingsAnswered => _pingsAnswered;

    private int _pingsAnswered;

    private async Task AnswerPingAsync(XElement ping)
    {
        Interlocked.Increment(ref _pingsAnswered);
        try
        {
            await SendAsync(new XElement(XmppNamespaces.Client + "iq", new XAttribute("type", "result"),
                new XAttribute("to", (string?)ping.Attribute("from") ?? ""), new XAttribute("id", (string?)ping.Attribute("id") ?? "")));
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            // The stream is going away; nothing to answer on.
        }
    }

    public Task SendAsync(XElement stanza, CancellationToken cancellationToken = default) =>
        SendAsync(stanza.ToString(WireFormat), cancellationToken);

    /// <summary>Writes raw XML to the stream as is; the caller is responsible for it being well-formed.</summary>
    public async Task SendAsync(string xml, CancellationToken cancellationToken = default)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Available presence to the server, which a client must send to get presence and messages of contacts.</summary>
    public Task SendInitialPresenceAsync(CancellationToken cancellationToken = default) =>
        SendAsync(new XElement(XmppNamespaces.Client + "presence"), cancellationToken);

    /// <summary>The next element the server sent; throws <see cref="TimeoutException"/> if none arrives in time.</summary>
    public async Task<XElement> ReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        await TryReceiveAsync(timeout, cancellationToken)
        ?? throw (StreamEnded
            ? new EndOfStreamException($"{FullJid}: the stream has ended; nothing more will arrive.")
            : new TimeoutException($"{FullJid}: nothing received within {timeout.TotalSeconds} s."));

    /// <summary>The next element the server sent, or null if none arrives in time or the stream has ended.</summary>
    public async Task<XElement?> TryReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_received.Reader.TryRead(out var queued))
        {
            return queued;
        }
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            return await _received.Reader.WaitToReadAsync(wait.Token) && _received.Reader.TryRead(out var element) ? element : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>True when the server ended the stream and everything it sent has been received.</summary>
    public bool StreamEnded => _received.Reader.Completion.IsCompleted;

    /// <summary>Closes the stream the polite way, so the server sends unavailable presence on the user's behalf.</summary>
    public async Task DisconnectAsync()
    {
        if (!IsConnected)
        {
            return;
        }
        _closeSent = true;
        try
        {
            await SendAsync("</stream:stream>");
            await _readLoop.WaitAsync(CloseTimeout); // the server answers with its own </stream:stream>
        }
        catch (Exception error) when (error is IOException or TimeoutException or ObjectDisposedException)
        {
            // Closing the socket below ends the session anyway.
        }
        _tcp.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await DisconnectAsync();
        _tcp.Dispose();
        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _writeLock.Dispose();
    }

    private static (string User, string? Resource) SplitJid(string jid, string expectedDomain)
    {
        var atSign = jid.IndexOf('@');
        var slash = jid.IndexOf('/');
        if (atSign <= 0)
        {
            throw new ArgumentException($"'{jid}' is not a user JID (user@domain[/resource])", nameof(jid));
        }
        var domain = slash < 0 ? jid[(atSign + 1)..] : jid[(atSign + 1)..slash];
        if (!string.Equals(domain, expectedDomain, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{jid}' is not on the server's domain {expectedDomain}", nameof(jid));
        }
        return (jid[..atSign], slash < 0 ? null : jid[(slash + 1)..]);
    }
}

public sealed class XmppNegotiationException(string message, Exception? inner = null) : Exception(message, inner);
