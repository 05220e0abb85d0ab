using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dmuc.Xmpp;

/// <summary>
/// One XEP-0114 component stream to an XMPP server. <see cref="ConnectAsync"/> connects and completes the
/// handshake; <see cref="RunAsync"/> then reads stanzas until the stream ends. <see cref="Send(XElement)"/> may be
/// called from any thread and never blocks on the network: output is queued and a single writer flushes it,
/// coalescing whatever accumulated into one socket write. Past <see cref="ComponentConnectionOptions.MaxQueuedBytes"/>
/// the connection is <see cref="IsOverBudget"/> (the node sheds new work); only a server that stopped reading altogether
/// (<see cref="ComponentConnectionOptions.DeadServerQueuedBytes"/> queued, none of it taken for
/// <see cref="ComponentConnectionOptions.DeadServerPatience"/>) or is hopelessly behind
/// (<see cref="ComponentConnectionOptions.DeadServerCeilingBytes"/>) gets the stream cut. A connection is single-use and does not reconnect;
/// see <see cref="Backoff"/> for who does.
/// </summary>
public sealed partial class ComponentConnection : IAsyncDisposable
{
    private const int ReadBufferSize = 16 * 1024;
    private const int RetainedWriteBufferSize = 1024 * 1024;
    // A backlog is written in slices of this, so that a server taking it slowly is seen taking it (DeadServerPatience).
    private const int WriteSliceSize = 256 * 1024;
    private static readonly XName Handshake = Ns.Client + "handshake";
    private static readonly XName StreamErrorName = Ns.Streams + "error";

    private readonly ComponentConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly ReceivedEvents _received = new();
    private readonly XmppStreamParser _parser;
    private readonly byte[] _readBuffer = new byte[ReadBufferSize];

    private readonly Lock _sendLock = new();
    private readonly Channel<bool> _wakeWriter = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private ByteBuffer _pending = new(16 * 1024);
    private ByteBuffer _writing = new(16 * 1024);
    private int _writingBytes;
    // Bytes the socket has accepted since the stream opened, and who waits for a count of them (AllQueuedWritten).
    private long _written;
    private readonly List<(long UpTo, TaskCompletionSource<bool> Done)> _writeWaiters = [];
    private bool _sendsClosed;
    private Task _writeLoop = Task.CompletedTask;
    private Timer? _keepaliveTimer;
    private long _lastWriteTicks;
    // When the socket write under way began (0: none is): how long the server has taken none of the backlog (IsDead).
    private long _writeStartedTicks;

    private readonly TaskCompletionSource _readerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _runStarted;
    private bool _closing;
    private Exception? _failure;
    private int _aborted;

    private ComponentConnection(ComponentConnectionOptions options, ILogger logger, TcpClient client)
    {
        _options = options;
        _logger = logger;
        _client = client;
        _stream = client.GetStream();
        _parser = new XmppStreamParser(_received, options.MaxStanzaBytes, options.MaxStanzaDepth);
    }

    /// <summary>The id the server gave the stream.</summary>
    public string StreamId { get; private set; } = "";

    /// <summary>Output queued or being written, not yet accepted by the socket.</summary>
    public int QueuedBytes
    {
        get
        {
            lock (_sendLock) return _pending.Length + _writingBytes;
        }
    }

    /// <summary>
    /// Completes with true once the socket has accepted everything queued before this call, false if the connection ends
    /// first. Accepted by the socket is as far as this end can tell: what the kernel holds is sent even if this process dies.
    /// </summary>
    public Task<bool> AllQueuedWritten()
    {
        lock (_sendLock)
        {
            if (_sendsClosed) return Task.FromResult(false);
            var upTo = _written + _writingBytes + _pending.Length;
            if (upTo == _written) return Task.FromResult(true);
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _writeWaiters.Add((upTo, done));
            return done.Task;
        }
    }

    /// <summary>Answers those waiting for bytes written so far (all of them, with false, once the connection ends).</summary>
    private void AnswerWriteWaiters(bool ended)
    {
        lock (_sendLock) AnswerWriteWaitersLocked(ended);
    }

    private void AnswerWriteWaitersLocked(bool ended)
    {
        if (_writeWaiters.Count == 0) return;
        _writeWaiters.RemoveAll(waiter =>
        {
            if (!ended && waiter.UpTo > _written) return false;
            waiter.Done.TrySetResult(!ended);
            return true;
        });
    }

    /// <summary>More output is queued than <see cref="ComponentConnectionOptions.MaxQueuedBytes"/>: the server is not keeping up.</summary>
    public bool IsOverBudget => QueuedBytes > _options.MaxQueuedBytes;

    /// <summary>The capacity of the output buffers: what the connection holds on to, whether used or not.</summary>
    internal int BufferCapacity
    {
        get
        {
            lock (_sendLock) return _pending.Capacity + _writing.Capacity;
        }
    }

    /// <summary>
    /// Connects, opens the stream and authenticates. Throws <see cref="StreamErrorReceivedException"/> when the
    /// server refuses (not-authorized for a wrong secret, conflict when the domain is already connected…),
    /// <see cref="TimeoutException"/> after <see cref="ComponentConnectionOptions.HandshakeTimeout"/>, or a socket error.
    /// </summary>
    public static async Task<ComponentConnection> ConnectAsync(ComponentConnectionOptions options,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HandshakeTimeout);
        var client = new TcpClient { NoDelay = true };
        ComponentConnection? connection = null;
        try
        {
            await client.ConnectAsync(options.Host, options.Port, timeout.Token);
            connection = new ComponentConnection(options, logger ?? NullLogger.Instance, client);
            await connection.HandshakeAsync(timeout.Token);
            connection.StartWriting();
            LogConnected(connection._logger, options.Domain, options.Host, options.Port, connection.StreamId);
            return connection;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            connection?.Abort();
            client.Dispose();
            throw new TimeoutException($"No component handshake with {options.Host}:{options.Port} within {options.HandshakeTimeout}.");
        }
        catch (XmppStreamException violation) when (violation is not StreamErrorReceivedException && connection is not null)
        {
            await connection.SendStreamErrorDuringHandshakeAsync(violation);
            throw;
        }
        catch
        {
            connection?.Abort();
            client.Dispose();
            throw;
        }
    }

    /// <summary>Queues a stanza; false if the connection is closed.</summary>
    public bool Send(XElement stanza)
    {
        int pending;
        lock (_sendLock)
        {
            if (_sendsClosed) return false;
            var start = _pending.Length;
            try
            {
                StanzaWriter.Write(stanza, _pending);
            }
            catch
            {
                _pending.Truncate(start);
                throw;
            }
            pending = _pending.Length + _writingBytes;
        }
        return AfterQueued(pending);
    }

    /// <summary>Queues a pre-rendered stanza addressed to <paramref name="to"/>; false if the connection is closed.</summary>
    public bool Send(RenderedStanza stanza, string to) => Send(stanza, new ReadOnlySpan<string>(in to));

    /// <summary>Queues a pre-rendered stanza once per recipient, under one lock and one writer wake-up.</summary>
    public bool Send(RenderedStanza stanza, ReadOnlySpan<string> recipients)
    {
        int pending;
        lock (_sendLock)
        {
            if (_sendsClosed) return false;
            foreach (var to in recipients) stanza.WriteTo(_pending, to);
            pending = _pending.Length + _writingBytes;
        }
        return AfterQueued(pending);
    }

    /// <summary>
    /// Reads the stream, handing each stanza to <paramref name="onStanza"/> on the reading thread, until it ends;
    /// a stanza the parser refused (<see cref="StanzaRefusal"/>) goes to <paramref name="onRefused"/> instead, and the
    /// stream goes on.
    /// Completes when the stream is closed by either side; throws <see cref="StreamErrorReceivedException"/> when
    /// the server sends a stream error, <see cref="XmppStreamException"/> when the server broke the stream's rules
    /// (the stream error has then been sent), <see cref="OperationCanceledException"/> on cancellation (after
    /// closing), or the I/O error that ended the connection.
    /// </summary>
    public async Task RunAsync(Action<XElement> onStanza, Action<RefusedStanza> onRefused, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _runStarted, 1) != 0) throw new InvalidOperationException("RunAsync was already called.");
        try
        {
            while (true)
            {
                DeliverReceived(onStanza, onRefused);
                if (_received.StreamEnded) break;
                await ReadAndParseAsync(cancellationToken);
            }
            LogServerClosed(_logger, StreamId);
            await CloseCoreAsync(streamError: null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CloseCoreAsync(streamError: null);
            throw;
        }
        catch (StreamErrorReceivedException received)
        {
            LogStreamErrorReceived(_logger, received.Condition.ElementName(), received.Text);
            await CloseCoreAsync(streamError: null);
            throw;
        }
        catch (XmppStreamException violation)
        {
            LogViolation(_logger, violation.Condition.ElementName(), violation.Text);
            await CloseCoreAsync(StreamError.Element(violation.Condition, violation.Text));
            throw;
        }
        catch (Exception error) when (Volatile.Read(ref _closing) && _failure is null)
        {
            // CloseAsync tore the socket down under the read: the expected end of a local close.
            LogReadEndedByClose(_logger, error.GetType().Name);
        }
        catch (Exception error)
        {
            var failure = RecordFailure(error);
            LogFailed(_logger, failure);
            Abort();
            if (failure != error) ExceptionDispatchInfo.Throw(failure);
            throw;
        }
        finally
        {
            _readerStopped.TrySetResult();
        }
    }

    /// <summary>
    /// Sends &lt;/stream:stream&gt; after everything queued, waits (up to <see cref="ComponentConnectionOptions.CloseTimeout"/>)
    /// for the server to close its side if <see cref="RunAsync"/> is reading, and closes the socket.
    /// </summary>
    public async Task CloseAsync()
    {
        await CloseCoreAsync(streamError: null);
        if (Volatile.Read(ref _runStarted) != 0)
        {
            await _readerStopped.Task.WaitAsync(_options.CloseTimeout).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        Abort();
    }

    public async ValueTask DisposeAsync() => await CloseAsync();

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var header = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " +
                     $"xmlns:stream='http://etherx.jabber.org/streams' to=\"{StanzaWriter.EscapeAttribute(_options.Domain)}\">";
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(header), cancellationToken);

        while (_received.Header is null) await ReadAndParseAsync(cancellationToken);
        StreamId = _received.Header.Id
            ?? throw new XmppStreamException(StreamErrorCondition.BadFormat, "the stream header has no id");

        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(StreamId + _options.Secret));
        var handshake = $"<handshake>{Convert.ToHexStringLower(hash)}</handshake>";
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(handshake), cancellationToken);

        while (true)
        {
            if (_received.Elements.TryDequeue(out var received))
            {
                var element = received.Element;
                if (element.Name == Handshake && received.Refused is null) return;
                if (element.Name == StreamErrorName) throw ReceivedStreamError(element);
                throw new XmppStreamException(StreamErrorCondition.NotAuthorized, $"<{element.Name.LocalName}/> before the handshake");
            }
            await ReadAndParseAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Reads once and parses. A violation is held back until the elements parsed before it in the same read
    /// have been taken from the queue, then thrown by the next call.
    /// </summary>
    private async ValueTask ReadAndParseAsync(CancellationToken cancellationToken)
    {
        _received.Violation?.Throw();
        if (_received.StreamEnded) throw new IOException("The server closed the stream.");
        var read = await _stream.ReadAsync(_readBuffer, cancellationToken);
        if (read == 0) throw new EndOfStreamException("The server closed the connection without closing the stream.");
        try
        {
            _parser.Feed(_readBuffer.AsSpan(0, read));
        }
        catch (XmppStreamException violation)
        {
            _received.Violation = ExceptionDispatchInfo.Capture(violation);
        }
    }

    private void DeliverReceived(Action<XElement> onStanza, Action<RefusedStanza> onRefused)
    {
        while (_received.Elements.TryDequeue(out var received))
        {
            if (received.Refused is { } refused)
            {
                LogRefused(_logger, refused.Stanza.Name.LocalName, (string?)refused.Stanza.Attribute("from"), refused.Reason);
                onRefused(refused);
            }
            else if (received.Element.Name == StreamErrorName) throw ReceivedStreamError(received.Element);
            else onStanza(received.Element);
        }
    }

    private static StreamErrorReceivedException ReceivedStreamError(XElement streamError)
    {
        var (condition, text) = StreamError.Read(streamError);
        return new StreamErrorReceivedException(condition, text);
    }

    private async Task SendStreamErrorDuringHandshakeAsync(XmppStreamException violation)
    {
        LogViolation(_logger, violation.Condition.ElementName(), violation.Text);
        StartWriting();
        await CloseCoreAsync(StreamError.Element(violation.Condition, violation.Text));
        Abort();
    }

    private void StartWriting()
    {
        _lastWriteTicks = Environment.TickCount64;
        _writeLoop = Task.Run(WriteLoopAsync);
        _keepaliveTimer = new Timer(OnKeepaliveDue, null, _options.KeepaliveInterval, Timeout.InfiniteTimeSpan);
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (await _wakeWriter.Reader.WaitToReadAsync())
            {
                _wakeWriter.Reader.TryRead(out _);
                while (true)
                {
                    lock (_sendLock)
                    {
                        (_pending, _writing) = (_writing, _pending);
                        _writingBytes = _writing.Length;
                    }
                    if (_writingBytes == 0) break;
                    for (var sliced = _writing.WrittenMemory; !sliced.IsEmpty; sliced = sliced[Math.Min(WriteSliceSize, sliced.Length)..])
                    {
                        Volatile.Write(ref _writeStartedTicks, Environment.TickCount64);
                        await _stream.WriteAsync(sliced[..Math.Min(WriteSliceSize, sliced.Length)]);
                        Volatile.Write(ref _writeStartedTicks, 0);
                        Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
                    }
                    lock (_sendLock)
                    {
                        _written += _writingBytes;
                        _writingBytes = 0;
                        // A backlog grew the buffer; once it is written, the memory goes back.
                        _writing.Clear(RetainedWriteBufferSize);
                        // In the same lock: every write passes here, and most have nobody waiting.
                        AnswerWriteWaitersLocked(ended: false);
                    }
                }
            }
        }
        catch (Exception error) when (Volatile.Read(ref _aborted) == 0)
        {
            LogFailed(_logger, RecordFailure(error));
            Abort();
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            // Abort closed the socket under a pending write.
        }
        finally
        {
            ReleaseBuffers();
            AnswerWriteWaiters(ended: true);
        }
    }

    /// <summary>Once nothing more will be written, a backlog cut short must not keep its memory.</summary>
    private void ReleaseBuffers()
    {
        lock (_sendLock)
        {
            if (!_sendsClosed) return;
            _writingBytes = 0;
            _pending.Clear(maxRetainedCapacity: 0);
            _writing.Clear(maxRetainedCapacity: 0);
        }
    }

    private void OnKeepaliveDue(object? state)
    {
        // A stalled server is found dead here too when nothing more is sent to it (the node refuses new work meanwhile).
        if (QueuedBytes is var queued && queued > _options.DeadServerQueuedBytes && !AfterQueued(queued)) return;
        var interval = (long)_options.KeepaliveInterval.TotalMilliseconds;
        var untilDue = interval - (Environment.TickCount64 - Volatile.Read(ref _lastWriteTicks));
        if (untilDue <= 0)
        {
            lock (_sendLock)
            {
                if (_sendsClosed) return;
                _pending.Append(" "u8);
            }
            _wakeWriter.Writer.TryWrite(true);
            untilDue = interval;
        }
        try
        {
            _keepaliveTimer?.Change(TimeSpan.FromMilliseconds(untilDue), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The connection was torn down while this callback ran.
        }
    }

    private bool AfterQueued(int queued)
    {
        if (queued > _options.DeadServerQueuedBytes && IsDead(queued, out var idle))
        {
            LogFailed(_logger, RecordFailure(new IOException(
                $"The server is not reading: {queued} bytes are queued, {(double)queued / _options.MaxQueuedBytes:0.#} times the budget of " +
                $"{_options.MaxQueuedBytes}, and it took none for {idle.TotalSeconds:0.#} s.")));
            Abort();
            return false;
        }
        _wakeWriter.Writer.TryWrite(true);
        return true;
    }

    /// <summary>
    /// Past the dead-server limit, whether the socket took nothing of a write for <see cref="ComponentConnectionOptions.DeadServerPatience"/>,
    /// or the queue is past the ceiling. A server that reads keeps its stream: what is queued is what the rooms decided before they
    /// began refusing new work (<see cref="LoadShedding"/>; a replica's rooms hear of it late), delivered rather than dropped with the stream.
    /// </summary>
    private bool IsDead(int queued, out TimeSpan idle)
    {
        var writeStarted = Volatile.Read(ref _writeStartedTicks);
        idle = TimeSpan.FromMilliseconds(writeStarted == 0 ? 0 : Environment.TickCount64 - writeStarted);
        return idle > _options.DeadServerPatience || queued > _options.DeadServerCeilingBytes;
    }

    /// <summary>Queues the optional stream error and &lt;/stream:stream&gt; and waits for them to be written.</summary>
    private async Task CloseCoreAsync(XElement? streamError)
    {
        Volatile.Write(ref _closing, true);
        lock (_sendLock)
        {
            if (!_sendsClosed)
            {
                _sendsClosed = true;
                if (streamError is not null) StanzaWriter.Write(streamError, _pending);
                _pending.Append("</stream:stream>"u8);
                _wakeWriter.Writer.TryWrite(true);
                _wakeWriter.Writer.TryComplete();
            }
        }
        await _writeLoop.WaitAsync(_options.CloseTimeout).ContinueWith(_ => { }, TaskScheduler.Default);
        try
        {
            // Null once Abort disposed the client (the budget cut the stream).
            _client.Client?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing left to flush.
        }
    }

    private Exception RecordFailure(Exception error)
    {
        Interlocked.CompareExchange(ref _failure, error, null);
        return _failure;
    }

    private void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
        lock (_sendLock) _sendsClosed = true;
        _wakeWriter.Writer.TryComplete();
        _keepaliveTimer?.Dispose();
        _client.Dispose();
        if (_writeLoop.IsCompleted) ReleaseBuffers();
        AnswerWriteWaiters(ended: true);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Component {Domain} connected to {Host}:{Port}, stream {StreamId}")]
    private static partial void LogConnected(ILogger logger, string domain, string host, int port, string streamId);

    [LoggerMessage(Level = LogLevel.Information, Message = "The server closed stream {StreamId}")]
    private static partial void LogServerClosed(ILogger logger, string streamId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading ended by a local close ({ErrorType})")]
    private static partial void LogReadEndedByClose(ILogger logger, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The server sent stream error {Condition}: {Text}")]
    private static partial void LogStreamErrorReceived(ILogger logger, string condition, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the stream with error {Condition}: {Text}")]
    private static partial void LogViolation(ILogger logger, string condition, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a <{Name}> from {From}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string name, string? from, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component connection failed")]
    private static partial void LogFailed(ILogger logger, Exception error);

    /// <summary>Parser events queued for the connection, so no stanza is delivered before someone asked for it.</summary>
    private sealed class ReceivedEvents : IXmppStreamHandler
    {
        public StreamHeader? Header { get; private set; }
        public Queue<Received> Elements { get; } = new();
        public bool StreamEnded { get; private set; }
        public ExceptionDispatchInfo? Violation { get; set; }

        public void OnStreamHeader(StreamHeader header) => Header = header;
        public void OnElement(XElement element) => Elements.Enqueue(new Received(element, Refused: null));
        public void OnRefused(RefusedStanza refused) => Elements.Enqueue(new Received(refused.Stanza, refused));
        public void OnStreamEnd() => StreamEnded = true;
    }

    /// <param name="Element">The stanza, or what is known of a refused one.</param>
    private readonly record struct Received(XElement Element, RefusedStanza? Refused);
}
