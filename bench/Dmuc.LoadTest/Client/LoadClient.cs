using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dmuc.LoadTest.Client;

/// <summary>
/// One real c2s client built for load: plain TCP with Nagle off, SASL PLAIN, resource binding, then a receive
/// loop that frames stanzas with <see cref="StanzaFramer"/> and looks only at the few bytes it needs.
/// </summary>
/// <remarks>
/// Groupchat bodies carry "lt PHASE SENDER SEQUENCE TIMESTAMP" (Stopwatch ticks of the send), so every
/// delivery can be attributed to a phase and its latency computed without any shared state.
/// </remarks>
public sealed class LoadClient : IAsyncDisposable
{
    private static readonly TimeSpan NegotiationTimeout = TimeSpan.FromSeconds(30);
    private static readonly byte[] BodyMarker = "<body>lt "u8.ToArray();
    private static readonly byte[] SelfPresenceCode = "code='110'"u8.ToArray();
    private static readonly byte[] SelfPresenceCodeDoubleQuoted = "code=\"110\""u8.ToArray();
    private static readonly byte[] ErrorType = "type='error'"u8.ToArray();
    private static readonly byte[] ErrorTypeDoubleQuoted = "type=\"error\""u8.ToArray();
    private static readonly byte[] MessageTail = "</body></message>"u8.ToArray();

    private static readonly TimeSpan JoinRetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly Socket _socket;
    private readonly StanzaFramer _framer = new();
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendBuffer = new byte[1024];
    private readonly TaskCompletionSource<SelfPresence> _selfPresence = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _groupchatHead = [];
    private TaskCompletionSource<string>? _pendingIq;
    private PhaseTally? _tally;
    private Task _receiveLoop = Task.CompletedTask;
    private long _lastStanzaTimestamp;
    private long _strayMessages;
    private string? _joining;
    private int _joinRetries;
    private long _sequence;

    private LoadClient(Socket socket, int index)
    {
        _socket = socket;
        Index = index;
    }

    /// <summary>The client's number in its room: user name, nickname and the sender field of its messages.</summary>
    public int Index { get; }

    public string Nickname => "u" + Index;

    /// <summary>Completes when the room sent this client its own presence (status 110), or failed the join.</summary>
    public Task<SelfPresence> SelfPresence => _selfPresence.Task;

    /// <summary>Stopwatch timestamp of the last stanza this client received, whatever it was.</summary>
    public long LastStanzaTimestamp => Volatile.Read(ref _lastStanzaTimestamp);

    /// <summary>Groupchat messages that belonged to no current phase (late after a drain timeout).</summary>
    public long StrayMessages => Volatile.Read(ref _strayMessages);

    public bool IsReceiving => !_receiveLoop.IsCompleted;

    /// <summary>Joins the room refused with resource-constraint (the service shed load) and sent again.</summary>
    public int JoinRetries => Volatile.Read(ref _joinRetries);

    public static async Task<LoadClient> ConnectAsync(IPEndPoint server, string domain, int index, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new LoadClient(socket, index);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(NegotiationTimeout);
        try
        {
            await socket.ConnectAsync(server, timeout.Token);
            await client.LogInAsync(domain, "load" + index, timeout.Token);
            client._receiveLoop = Task.Run(client.ReceiveLoopAsync, CancellationToken.None);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task LogInAsync(string domain, string user, CancellationToken cancellationToken)
    {
        var features = await OpenStreamAsync(domain, cancellationToken);
        Require(features, "mechanisms", "SASL");
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0x"));
        SendText($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>");
        var outcome = await ReadElementAsync(cancellationToken);
        if (!outcome.StartsWith("<success", StringComparison.Ordinal))
            throw new IOException($"SASL PLAIN for {user}@{domain} failed: {outcome}");

        // RFC 6120 §6.4.6: a fresh stream after SASL; the server sends nothing more on the old one.
        _framer.Restart();
        features = await OpenStreamAsync(domain, cancellationToken);
        Require(features, "urn:ietf:params:xml:ns:xmpp-bind", "resource binding");
        SendText("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>load</resource></bind></iq>");
        RequireResult(await ReadElementAsync(cancellationToken), "bind");
        if (features.Contains("urn:ietf:params:xml:ns:xmpp-session", StringComparison.Ordinal) &&
            !features.Contains("<optional", StringComparison.Ordinal))
        {
            SendText("<iq type='set' id='session'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
            RequireResult(await ReadElementAsync(cancellationToken), "session");
        }
    }

    private async Task<string> OpenStreamAsync(string domain, CancellationToken cancellationToken)
    {
        SendText($"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>");
        var features = await ReadElementAsync(cancellationToken);
        return features.StartsWith("<stream:features", StringComparison.Ordinal)
            ? features
            : throw new IOException($"Expected <stream:features>, got {features}");
    }

    private async Task<string> ReadElementAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryTakeElement(out var element)) return element;
            var read = await _socket.ReceiveAsync(_framer.FreeSpace(), SocketFlags.None, cancellationToken);
            if (read == 0) throw new IOException("The server closed the connection during login.");
            _framer.Commit(read);
        }
    }

    private bool TryTakeElement(out string element)
    {
        element = _framer.TryNext(out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
        return element.Length > 0;
    }

    private static void Require(string features, string feature, string description)
    {
        if (!features.Contains(feature, StringComparison.Ordinal))
            throw new IOException($"The server does not offer {description}: {features}");
    }

    private static void RequireResult(string response, string id)
    {
        if (!response.Contains($"id='{id}'", StringComparison.Ordinal) && !response.Contains($"id=\"{id}\"", StringComparison.Ordinal) ||
            !response.Contains("type='result'", StringComparison.Ordinal) && !response.Contains("type=\"result\"", StringComparison.Ordinal))
            throw new IOException($"The {id} request failed: {response}");
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(_framer.FreeSpace(), SocketFlags.None);
                if (read == 0) break;
                _framer.Commit(read);
                HandleReceived(Stopwatch.GetTimestamp());
                if (_framer.StreamClosed) break;
            }
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            // The connection is gone (we closed it, or the server did): the stream is over either way.
        }
        finally
        {
            _selfPresence.TrySetException(new IOException($"{Nickname}: the stream ended before the room was joined."));
            _pendingIq?.TrySetException(new IOException($"{Nickname}: the stream ended before the IQ was answered."));
        }
    }

    private void HandleReceived(long receivedAt)
    {
        Volatile.Write(ref _lastStanzaTimestamp, receivedAt);
        while (_framer.TryNext(out var stanza))
        {
            if (stanza.StartsWith("<message"u8)) HandleMessage(stanza, receivedAt);
            else if (stanza.StartsWith("<presence"u8)) HandlePresence(stanza, receivedAt);
            else if (stanza.StartsWith("<iq"u8)) _pendingIq?.TrySetResult(Encoding.UTF8.GetString(stanza));
        }
    }

    private void HandleMessage(ReadOnlySpan<byte> stanza, long receivedAt)
    {
        var tally = Volatile.Read(ref _tally);
        // A bounced message carries the original body: the type has to be checked before the body counts.
        if (IsError(stanza))
        {
            // Only a sender gets its message back as an error: its outcome, as its echo would have been.
            tally?.RecordError();
            tally?.OwnEchoWindow?.Release();
            return;
        }
        var body = stanza.IndexOf(BodyMarker);
        if (body < 0) return; // the room subject or anything else that is not load traffic
        var fields = stanza[(body + BodyMarker.Length)..];
        if (!TryReadNumber(ref fields, out var phase) || !TryReadNumber(ref fields, out var sender) ||
            !TryReadNumber(ref fields, out _) || !TryReadNumber(ref fields, out var sentAt))
            return;
        if (tally is null || tally.PhaseId != phase)
        {
            Interlocked.Increment(ref _strayMessages);
            return;
        }
        tally.RecordDelivery(receivedAt, (receivedAt - sentAt) * 1_000_000 / Stopwatch.Frequency, (int)sender);
        if (sender == Index) tally.OwnEchoWindow?.Release();
    }

    private static bool TryReadNumber(ref ReadOnlySpan<byte> fields, out long value)
    {
        if (!Utf8Parser.TryParse(fields, out value, out var consumed)) return false;
        fields = fields[Math.Min(consumed + 1, fields.Length)..];
        return true;
    }

    private void HandlePresence(ReadOnlySpan<byte> stanza, long receivedAt)
    {
        if (_selfPresence.Task.IsCompleted) return;
        if (IsError(stanza) && stanza.IndexOf("resource-constraint"u8) >= 0 && _joining is { } room)
        {
            // The service shed load (type wait): try again later (RFC 6120 §8.3.3.18), as a well-behaved client does.
            Interlocked.Increment(ref _joinRetries);
            _ = Task.Delay(JoinRetryDelay).ContinueWith(_ => SendJoin(room), TaskScheduler.Default);
        }
        else if (IsError(stanza))
            _selfPresence.TrySetException(new IOException($"{Nickname} could not join: {Encoding.UTF8.GetString(stanza)}"));
        else if (stanza.IndexOf(SelfPresenceCode) >= 0 || stanza.IndexOf(SelfPresenceCodeDoubleQuoted) >= 0)
            _selfPresence.TrySetResult(new SelfPresence(receivedAt, Encoding.UTF8.GetString(stanza)));
    }

    private static bool IsError(ReadOnlySpan<byte> stanza)
    {
        var openingTagEnd = stanza.IndexOf((byte)'>');
        var openingTag = openingTagEnd < 0 ? stanza : stanza[..openingTagEnd];
        return openingTag.IndexOf(ErrorType) >= 0 || openingTag.IndexOf(ErrorTypeDoubleQuoted) >= 0;
    }

    /// <summary>Counts the deliveries of a new phase from now on; everything of earlier phases becomes stray.</summary>
    public void BeginPhase(PhaseTally tally) => Volatile.Write(ref _tally, tally);

    public void SendJoin(string roomJid)
    {
        _joining = roomJid;
        SendText($"<presence to='{roomJid}/{Nickname}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
    }

    /// <summary>Sends an IQ (its id must be unique among this client's outstanding requests) and returns the answer.</summary>
    public async Task<string> RequestAsync(string iq, TimeSpan timeout)
    {
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _pendingIq, answer);
        SendText(iq);
        return await answer.Task.WaitAsync(timeout);
    }

    /// <summary>
    /// Sets the room to which groupchat messages go. The stanza's head is rendered once here so a send only
    /// formats four numbers.
    /// </summary>
    public void UseRoom(string roomJid) =>
        _groupchatHead = Encoding.UTF8.GetBytes($"<message type='groupchat' to='{roomJid}'><body>lt ");

    public void SendGroupchat(int phaseId)
    {
        lock (_sendLock)
        {
            var output = _sendBuffer.AsSpan();
            _groupchatHead.CopyTo(output);
            var length = _groupchatHead.Length;
            length += FormatField(output[length..], phaseId);
            length += FormatField(output[length..], Index);
            length += FormatField(output[length..], ++_sequence);
            Utf8Formatter.TryFormat(Stopwatch.GetTimestamp(), output[length..], out var written);
            length += written;
            MessageTail.CopyTo(output[length..]);
            SendAll(output[..(length + MessageTail.Length)]);
        }
    }

    private static int FormatField(Span<byte> output, long value)
    {
        Utf8Formatter.TryFormat(value, output, out var written);
        output[written] = (byte)' ';
        return written + 1;
    }

    private void SendText(string xml)
    {
        lock (_sendLock) SendAll(Encoding.UTF8.GetBytes(xml));
    }

    private void SendAll(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty) bytes = bytes[_socket.Send(bytes)..];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            SendText("</stream:stream>");
            await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException or TimeoutException)
        {
            // Closing the socket ends the session anyway.
        }
        _socket.Dispose();
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}

/// <summary>When the room's self-presence arrived (Stopwatch timestamp) and what it said.</summary>
public sealed record SelfPresence(long ReceivedAt, string Stanza);
