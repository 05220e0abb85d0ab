using System.Xml.Linq;
using Akka;
using Akka.Actor;
using Akka.Hosting;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dmuc.Actors.Component;

/// <summary>What the node needs to reach its XMPP server as a component.</summary>
public sealed record ComponentSettings(string Host, int Port, string Domain, string Secret, TimeSpan KeepaliveInterval)
{
    /// <inheritdoc cref="ComponentConnectionOptions.MaxStanzaBytes"/>
    public int MaxStanzaBytes { get; init; } = XmppStreamParser.DefaultMaxStanzaBytes;

    /// <inheritdoc cref="ComponentConnectionOptions.MaxStanzaDepth"/>
    public int MaxStanzaDepth { get; init; } = XmppStreamParser.DefaultMaxDepth;

    /// <inheritdoc cref="ComponentConnectionOptions.MaxQueuedBytes"/>
    public int MaxQueuedBytes { get; init; } = ComponentConnectionOptions.DefaultMaxQueuedBytes;

    /// <summary>Whether and where to look for the server's multicast service; null: one stanza per recipient, always.</summary>
    public MulticastSettings? Multicast { get; init; }

    /// <summary>A standby node's stream stays off until it is told to serve (<see cref="ComponentConnectionActor.Serve"/>).</summary>
    public bool StartsStandingBy { get; init; }

    /// <summary>
    /// Whether to ask the server for acknowledged stanzas at every connect (docs/protocol/stream-ack.md): a server that offers
    /// them keeps what it handed the node until its outcome is durable, and hands it again to the next stream.
    /// </summary>
    public bool StreamAcks { get; init; }
}

/// <summary>
/// XEP-0033 multicast towards the host server: looked for on <paramref name="HostDomain"/> at every connect, given
/// <paramref name="DiscoveryTimeout"/> to answer, used with at most <paramref name="MaxAddresses"/> recipients a stanza;
/// a service that does not keep the stream's order only with <paramref name="AllowUnordered"/>.
/// </summary>
public sealed record MulticastSettings(string HostDomain, int MaxAddresses, TimeSpan DiscoveryTimeout, bool AllowUnordered = false)
{
    public const int DefaultMaxAddresses = 100;

    /// <summary>What the outbox does with what discovery found: a route, or null and why not.</summary>
    public (MulticastRoute? Route, string Reason) RouteFor(MulticastService? service) => service switch
    {
        null => (null, $"{HostDomain} offers no XEP-0033 multicast service"),
        { InOrder: false } when !AllowUnordered => (null,
            $"{service.Jid} may deliver out of the component stream's order (an IQ answer before the broadcast it follows); Dmuc:Multicast:AllowUnordered uses it anyway"),
        _ => (new MulticastRoute(service.Jid, HostDomain, MaxAddresses, service.InOrder, service.ListForm), ""),
    };
}

/// <summary>
/// Keeps the node's XEP-0114 stream up: connects, hands every stanza read to the room directory, attaches
/// the stream to the outbox, and reconnects with exponential backoff and jitter when the stream ends for any
/// reason (server restart, stream error, a protocol violation by the server). A stanza the stream refused (over a
/// size or depth limit, or with namespaces that do not resolve) is answered with an error to its sender through the
/// outbox, like any stanza the node sends. Once in, it looks for the server's multicast service
/// (<see cref="MulticastDiscovery"/>) and tells the outbox what it found.
/// Rooms are never affected: they only ever see the outbox. Whether the stream is wanted at all is the cluster's call for a
/// host that has a standby node (<see cref="HostStandbyActor"/>): told to stand by, it closes the stream and stops reconnecting
/// until told to serve.
/// </summary>
public sealed partial class ComponentConnectionActor : ReceiveActor, IWithTimers
{
    private readonly ComponentSettings _settings;
    private readonly IActorRef _directory;
    private readonly ComponentOutbox _outbox;
    private readonly ILogger _logger;
    private readonly Backoff _backoff = new();
    private ComponentConnection? _connection;
    /// <summary>The handshake under way, if any: its stream is this actor's to close even if the actor stops before it is in.</summary>
    private Task<ComponentConnection>? _handshake;
    private bool _serving;
    private MulticastDiscovery? _discovery;
    private long _connections;
    // The stream's acknowledgements, once the server agreed to them; null while off.
    private StreamAckWindow? _acks;
    private long _acksConnection;

    public ComponentConnectionActor(ComponentSettings settings, IActorRef directory, ComponentOutbox outbox, ILogger logger)
    {
        _settings = settings;
        _directory = directory;
        _outbox = outbox;
        _logger = logger;
        _serving = !settings.StartsStandingBy;

        Receive<Connect>(_ => HandleConnect());
        Receive<Serve>(_ => HandleServe());
        ReceiveAsync<StandBy>(_ => HandleStandByAsync());
        Receive<Connected>(HandleConnected);
        Receive<ConnectFailed>(HandleConnectFailed);
        Receive<ConnectionEnded>(HandleConnectionEnded);
        Receive<DiscoveryAnswered>(HandleDiscoveryAnswered);
        Receive<DiscoveryTimedOut>(HandleDiscoveryTimedOut);
        Receive<AcknowledgementsNegotiated>(HandleAcknowledgementsNegotiated);
        Receive<StanzaSettled>(HandleStanzaSettled);
        Receive<StanzaServed>(HandleStanzaServed);
        Receive<AckTick>(_ => HandleAckTick());
        ReceiveAsync<Close>(_ => HandleCloseAsync());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ComponentSettings settings, IActorRef directory, ComponentOutbox outbox, ILogger logger) =>
        Akka.Actor.Props.Create(() => new ComponentConnectionActor(settings, directory, outbox, logger));

    protected override void PreStart() => Self.Tell(Connect.Instance);

    protected override void PostStop()
    {
        // A handshake that completes after this actor stopped (its actor system shut down to start again) hands its stream
        // to nobody: left open, the server keeps it as the component's and refuses the next life's stream as a second one
        // ("conflict") until it times it out, while everything its users say goes to a stream nobody reads (chaos seed 7).
        _handshake?.ContinueWith(handshake => handshake.Result.CloseAsync(), TaskContinuationOptions.OnlyOnRanToCompletion);
        _connection?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(3));
    }

    private void HandleConnect()
    {
        if (!_serving || _handshake is not null || _connection is not null) return;
        var options = new ComponentConnectionOptions
        {
            Host = _settings.Host,
            Port = _settings.Port,
            Domain = _settings.Domain,
            Secret = _settings.Secret,
            KeepaliveInterval = _settings.KeepaliveInterval,
            MaxStanzaBytes = _settings.MaxStanzaBytes,
            MaxStanzaDepth = _settings.MaxStanzaDepth,
            MaxQueuedBytes = _settings.MaxQueuedBytes,
        };
        _handshake = ComponentConnection.ConnectAsync(options, _logger);
        _handshake.PipeTo(Self,
            success: connection => new Connected(connection),
            failure: error => new ConnectFailed(error));
    }

    private void HandleConnected(Connected connected)
    {
        _handshake = null;
        var connection = connected.Connection;
        if (!_serving)
        {
            // Told to stand by while the handshake was under way.
            _ = connection.CloseAsync();
            return;
        }
        _connection = connection;
        _backoff.Reset();
        _outbox.Attach(connection);
        // The server may have lost its sessions while the stream was down (it crashed): the rooms check who is still there.
        _directory.Tell(CheckOccupants.Instance);
        var directory = _directory;
        var outbox = _outbox;
        var self = Self;
        var domain = _settings.Domain;
        var numbering = new StreamNumbering(self, ++_connections);
        _acks = null;
        connection.RunAsync(stanza =>
                {
                    if (StreamAckProtocol.IsNegotiation(stanza, domain))
                    {
                        // Numbered from the next stanza on, as the server counts: done here, on the reading thread, in stream order.
                        var resent = StreamAckProtocol.ResentAfter(stanza);
                        if (resent is { } count) numbering.Start(count);
                        self.Tell(new AcknowledgementsNegotiated(connection, resent));
                        return;
                    }
                    var receipt = numbering.Next(stanza);
                    if (MulticastDiscovery.IsAnswer(stanza))
                    {
                        self.Tell(new DiscoveryAnswered(connection, stanza));
                        receipt?.Settle();
                    }
                    else if (outbox.TakeDeliveredAnswer(stanza)) receipt?.Settle();
                    else if (outbox.RefusedUnderLoad(stanza)) receipt?.Settle();
                    else directory.Tell(new RouteStanza(stanza, Receipt: receipt));
                },
                refused =>
                {
                    var receipt = numbering.Next();
                    TellSender(outbox, refused);
                    receipt?.Settle();
                })
            .ContinueWith(run => new ConnectionEnded(connection, run.Exception?.GetBaseException()), TaskScheduler.Default)
            .PipeTo(Self);
        if (_settings.StreamAcks) connection.Send(StreamAckProtocol.Enable(_settings.Domain));
        StartDiscovery(connection);
    }

    private void HandleAcknowledgementsNegotiated(AcknowledgementsNegotiated negotiated)
    {
        if (!ReferenceEquals(negotiated.Connection, _connection)) return;
        if (negotiated.Resent is not { } resent)
        {
            LogAcksOff(_logger);
            return;
        }
        _acks = new StreamAckWindow(DateTimeOffset.UtcNow, SettleTimeout);
        _acksConnection = _connections;
        Timers.StartPeriodicTimer(AckTick.Instance, AckTick.Instance, AckInterval);
        LogAcksOn(_logger, resent);
    }

    private void HandleStanzaSettled(StanzaSettled settled)
    {
        if (settled.Connection == _acksConnection) _acks?.Settle(settled.Number, DateTimeOffset.UtcNow);
    }

    /// <summary>Only on the stream that numbered the stanza, while it has acknowledgements on.</summary>
    private void HandleStanzaServed(StanzaServed served)
    {
        if (_acks is not null && served.Connection == _acksConnection) _connection?.Send(StreamAckProtocol.Served(served.Number));
    }

    /// <summary>Acknowledgements go out at most once a tick, carrying everything settled meanwhile.</summary>
    private void HandleAckTick()
    {
        if (_acks is null || _connection is null) return;
        if (_acks.PassOverdueGap(DateTimeOffset.UtcNow) is { } gap) LogGapPassedOver(_logger, gap.First, gap.Last, SettleTimeout);
        if (_acks.AckDue() is { } handled) _connection.Send(StreamAckProtocol.Ack(handled));
    }

    private void StartDiscovery(ComponentConnection connection)
    {
        if (_settings.Multicast is not { } multicast)
        {
            LogPerRecipient(_logger, "multicast is turned off");
            return;
        }
        _discovery = new MulticastDiscovery(_settings.Domain, multicast.HostDomain);
        foreach (var query in _discovery.Start()) connection.Send(query);
        Timers.StartSingleTimer(DiscoveryTimedOut.Instance, DiscoveryTimedOut.Instance, multicast.DiscoveryTimeout);
    }

    private void HandleDiscoveryAnswered(DiscoveryAnswered answered)
    {
        if (_discovery is null || !ReferenceEquals(answered.Connection, _connection)) return;
        var step = _discovery.Receive(answered.Answer);
        foreach (var query in step.Queries) answered.Connection.Send(query);
        if (!step.Finished) return;
        _discovery = null;
        Timers.Cancel(DiscoveryTimedOut.Instance);
        var (route, reason) = _settings.Multicast!.RouteFor(step.Service);
        if (route is null)
        {
            LogPerRecipient(_logger, reason);
            return;
        }
        _outbox.UseMulticast(answered.Connection, route);
        LogMulticast(_logger, route.Service, route.HostDomain, route.ListForm);
    }

    private void HandleDiscoveryTimedOut(DiscoveryTimedOut _)
    {
        if (_discovery is null) return;
        _discovery = null;
        LogPerRecipient(_logger, $"{_settings.Multicast!.HostDomain} did not answer service discovery in time");
    }

    private static void TellSender(ComponentOutbox outbox, RefusedStanza refused)
    {
        if (StanzaError.ReplyToRefused(refused) is { } reply && Jid.TryParse((string?)reply.Attribute("to"), out var sender))
            outbox.Send([new Delivery(sender, reply)]);
    }

    private void HandleConnectFailed(ConnectFailed failed)
    {
        _handshake = null;
        if (!_serving) return;
        if (ShuttingDown)
        {
            LogNotReconnecting(_logger, failed.Error.GetBaseException().Message);
            return;
        }
        var delay = _backoff.Next();
        LogConnectFailed(_logger, _settings.Host, _settings.Port, failed.Error.GetBaseException().Message, delay);
        Timers.StartSingleTimer(Connect.Instance, Connect.Instance, delay);
    }

    private void HandleConnectionEnded(ConnectionEnded ended)
    {
        _outbox.Detach(ended.Connection);
        if (!ReferenceEquals(_connection, ended.Connection)) return;
        _connection = null;
        _discovery = null;
        StopAcknowledging();
        if (!_serving) return;
        if (ShuttingDown)
        {
            LogNotReconnecting(_logger, ended.Error?.Message ?? "closed by the server");
            return;
        }
        var delay = _backoff.Next();
        LogConnectionEnded(_logger, ended.Error?.Message ?? "closed by the server", delay);
        Timers.StartSingleTimer(Connect.Instance, Connect.Instance, delay);
    }

    /// <summary>
    /// Once the node is stopping, a server that goes away first (stopped with it, say) is expected: retrying would only
    /// log warnings and hold the shutdown up.
    /// </summary>
    private bool ShuttingDown => CoordinatedShutdown.Get(Context.System).ShutdownReason is not null;

    private async Task HandleCloseAsync()
    {
        Timers.CancelAll();
        await CloseStreamAsync();
        Sender.Tell(Done.Instance);
        Context.Stop(Self);
    }

    /// <summary>The cluster names this node for its host: connect now unless the stream is in or on its way.</summary>
    private void HandleServe()
    {
        if (_serving) return;
        _serving = true;
        _backoff.Reset();
        HandleConnect();
    }

    /// <summary>Another node serves the host: this one's stream goes, and stays gone until told to serve.</summary>
    private async Task HandleStandByAsync()
    {
        if (!_serving) return;
        _serving = false;
        Timers.Cancel(Connect.Instance);
        if (_connection is not null) LogStandingBy(_logger);
        await CloseStreamAsync();
    }

    private async Task CloseStreamAsync()
    {
        var connection = _connection;
        if (connection is not null && _acks?.AckDue() is { } handled) connection.Send(StreamAckProtocol.Ack(handled));
        _connection = null;
        _discovery = null;
        StopAcknowledging();
        if (connection is null) return;
        _outbox.Detach(connection);
        await connection.CloseAsync();
    }

    private void StopAcknowledging()
    {
        _acks = null;
        _acksConnection = 0;
        Timers.Cancel(AckTick.Instance);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot reach the XMPP server at {Host}:{Port} ({Reason}); retrying in {Delay}")]
    private static partial void LogConnectFailed(ILogger logger, string host, int port, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The component stream ended ({Reason}); reconnecting in {Delay}")]
    private static partial void LogConnectionEnded(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "The component stream is gone ({Reason}); the node is stopping, so it stays down")]
    private static partial void LogNotReconnecting(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broadcasts to users of {HostDomain} go through the multicast service {Service} (recipients as {ListForm})")]
    private static partial void LogMulticast(ILogger logger, string service, string hostDomain, RecipientListForm listForm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Another node serves this node's host: closing the component stream and standing by")]
    private static partial void LogStandingBy(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "The server acknowledges stanzas on this stream; it handed {Resent} again from the previous one")]
    private static partial void LogAcksOn(ILogger logger, long resent);

    [LoggerMessage(Level = LogLevel.Information, Message = "The server does not keep stanzas until acknowledged (no mod_dmuc_stream_ack): one handed over just before a crash of this node is lost")]
    private static partial void LogAcksOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stanzas {First}-{Last} of the component stream got no durable outcome within {Timeout}; acknowledged anyway so that the server's queue moves on")]
    private static partial void LogGapPassedOver(ILogger logger, long first, long last, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broadcasts go one stanza per recipient: {Reason}")]
    private static partial void LogPerRecipient(ILogger logger, string reason);

    private sealed class Connect
    {
        public static readonly Connect Instance = new();
    }

    private sealed record Connected(ComponentConnection Connection);

    private sealed record ConnectFailed(Exception Error);

    private sealed record ConnectionEnded(ComponentConnection Connection, Exception? Error);

    private sealed record DiscoveryAnswered(ComponentConnection Connection, XElement Answer);

    private sealed record AcknowledgementsNegotiated(ComponentConnection Connection, long? Resent);

    private sealed class AckTick
    {
        public static readonly AckTick Instance = new();
    }

    /// <summary>How often settled stanzas are acknowledged, at most: one small element a tick at any rate.</summary>
    private static readonly TimeSpan AckInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>A stanza whose outcome is this late while later ones settled has lost its receipt (<see cref="StreamAckWindow"/>).</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The stanza numbered <paramref name="Number"/> on stream <paramref name="Connection"/> has its durable outcome (<see cref="StreamReceipt"/>).</summary>
    public sealed record StanzaSettled(long Connection, long Number);

    /// <summary>Stanza <paramref name="Number"/> of stream <paramref name="Connection"/> was served by the node itself (<see cref="StreamReceipt.MarkServed"/>).</summary>
    public sealed record StanzaServed(long Connection, long Number);

    private sealed class DiscoveryTimedOut
    {
        public static readonly DiscoveryTimedOut Instance = new();
    }

    /// <summary>This node serves its host: keep the stream up (<see cref="HostStandby"/>).</summary>
    public sealed class Serve
    {
        public static readonly Serve Instance = new();
    }

    /// <summary>Another node serves this node's host: keep the stream down (<see cref="HostStandby"/>).</summary>
    public sealed class StandBy
    {
        public static readonly StandBy Instance = new();
    }

    /// <summary>Flushes and closes the stream for good (node shutdown); answered with <see cref="Done"/>.</summary>
    public sealed class Close
    {
        public static readonly Close Instance = new();
    }
}

public static class ComponentConnectionHosting
{
    /// <summary>
    /// Starts the component stream once the room directory exists, and orders shutdown: rooms tell their
    /// occupants first (status 332) unless the node restarts (<see cref="RestartingShutdown"/>), then the stream is flushed and closed.
    /// </summary>
    /// <param name="routeToReplicas">On a replica node, what the XMPP server sends goes to the replica
    /// directory (and on to the primary); on the primary node, to the rooms themselves.</param>
    public static AkkaConfigurationBuilder AddComponentConnection(this AkkaConfigurationBuilder builder, ComponentSettings settings,
        bool routeToReplicas) =>
        builder.WithActors((system, registry, resolver) =>
        {
            var directory = routeToReplicas ? registry.Get<ReplicaDirectory>() : registry.Get<RoomDirectory>();
            var outbox = resolver.GetService<ComponentOutbox>();
            var logger = resolver.GetService<ILoggerFactory>().CreateLogger<ComponentConnectionActor>();
            var connection = system.ActorOf(ComponentConnectionActor.Props(settings, directory, outbox, logger), "component");
            registry.Register<ComponentConnectionActor>(connection);

            var shutdown = CoordinatedShutdown.Get(system);
            shutdown.AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "tell-occupants", async () =>
            {
                if (RestartingShutdown.Is(shutdown.ShutdownReason)) return Done.Instance;
                await directory.Ask<RoomsShutDown>(ShutDownRooms.Instance, TimeSpan.FromSeconds(15));
                return Done.Instance;
            });
            shutdown.AddTask(CoordinatedShutdown.PhaseServiceUnbind, "close-component-stream", () =>
                connection.Ask<Done>(ComponentConnectionActor.Close.Instance, TimeSpan.FromSeconds(10)));
        });
}
