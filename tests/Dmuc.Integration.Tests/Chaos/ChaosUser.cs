using System.Xml.Linq;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Chaos;

/// <summary>
/// One user of the chaos test, as a persistent real client behaves: it stays in the room and says "chaos USER N" at a
/// steady rate; when its server drops it, it logs in again as soon as the server is back; when the room says it is out,
/// it enters again. Each stay is a new <see cref="RoomSession"/> under a nick of its own (USER.NUMBER), so a ghost of
/// an earlier stay cannot be mistaken for the user's return. Everything is recorded with the run's clock.
/// </summary>
public sealed class ChaosUser : IAsyncDisposable
{
    public const string BodyPrefix = "chaos ";
    private static readonly XNamespace Delay = "urn:xmpp:delay";
    private static readonly XNamespace Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan JoinAnswerTimeout = TimeSpan.FromSeconds(10);

    private readonly XmppServerEndpoint _server;
    private readonly TopologyUser _account;
    private readonly string _room;
    private readonly ChaosClock _clock;
    private readonly Lock _lock = new();
    private readonly List<RoomSession> _sessions = [];
    private readonly List<SentMessage> _sent = [];
    private readonly List<Bounce> _bounces = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstJoin = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private XmppTestClient? _client;
    private OpenSession? _current;
    private int _sessionNumber;
    private long _sequence;
    private bool _sending;
    private Task _life = Task.CompletedTask;
    private Task _speech = Task.CompletedTask;

    public ChaosUser(XmppServerEndpoint server, TopologyUser account, string room, ChaosClock clock)
    {
        (_server, _account, _room, _clock) = (server, account, room, clock);
        User = account.Jid.Split('@')[0];
    }

    public string User { get; }
    public string Host => _server.Domain;

    /// <summary>Completes once the user is in the room for the first time.</summary>
    public Task FirstJoin => _firstJoin.Task;

    /// <summary>Logs in, enters and keeps doing so until disposed.</summary>
    public void Start() => _life = Task.Run(() => LiveAsync(_stop.Token));

    /// <summary>Says a message every <paramref name="interval"/> while in the room, until <see cref="StopSpeaking"/>.</summary>
    public void StartSpeaking(TimeSpan interval)
    {
        lock (_lock) _sending = true;
        _speech = Task.Run(() => SpeakAsync(interval, _stop.Token));
    }

    public async Task StopSpeakingAsync()
    {
        lock (_lock) _sending = false;
        await _speech;
    }

    /// <summary>What the user recorded so far; the session it is in counts as still in.</summary>
    public (IReadOnlyList<SentMessage> Sent, IReadOnlyList<Bounce> Bounces, IReadOnlyList<RoomSession> Sessions) Snapshot()
    {
        lock (_lock)
        {
            var sessions = _sessions.ToList();
            if (_current is { JoinedAt: not null } open) sessions.Add(open.Close(null, SessionEnd.StillIn, null));
            return (_sent.ToList(), _bounces.ToList(), sessions);
        }
    }

    private async Task LiveAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            XmppTestClient client;
            try
            {
                client = await XmppTestClient.ConnectAsync(_server, $"{_account.Jid}/chaos{_sessionNumber + 1}", _account.Password, stop);
            }
            catch (Exception error) when (error is XmppNegotiationException or IOException)
            {
                await Task.Delay(RetryInterval, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            lock (_lock) _client = client;
            try
            {
                await StayConnectedAsync(client, stop);
            }
            finally
            {
                lock (_lock) _client = null;
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Enters, and enters again whenever the room puts the user out, until the stream ends. An entry that is refused
    /// or not answered is asked for again under the same nick: a late answer must not leave a session behind.
    /// </summary>
    private async Task StayConnectedAsync(XmppTestClient client, CancellationToken stop)
    {
        string? nick = null;
        while (!stop.IsCancellationRequested)
        {
            nick ??= BeginSession();
            var joinSentAt = _clock.Now;
            await SendOrIgnoreAsync(client, new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{_room}/{nick}"),
                new XElement(MucClientSteps.Muc + "x", new XElement(MucClientSteps.Muc + "history", new XAttribute("maxstanzas", "0")))));
            while (true)
            {
                // Not cancelled with the run: it waits one retry interval at most, then the loop looks at the run.
                var stanza = await client.TryReceiveAsync(RetryInterval, CancellationToken.None);
                if (stop.IsCancellationRequested) return;
                if (stanza is null)
                {
                    if (client.StreamEnded)
                    {
                        EndSession(SessionEnd.StreamLost, null);
                        return;
                    }
                    if (!IsJoined && _clock.Now - joinSentAt > JoinAnswerTimeout) break; // the room never answered: ask again
                    continue;
                }
                var outcome = Handle(stanza, nick);
                if (outcome == JoinOutcome.Refused)
                {
                    await Task.Delay(RetryInterval, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    break;
                }
                if (outcome == JoinOutcome.Removed)
                {
                    nick = null;
                    break;
                }
            }
        }
    }

    private enum JoinOutcome { None, Refused, Removed }

    private bool IsJoined
    {
        get { lock (_lock) return _current?.JoinedAt is not null; }
    }

    private string BeginSession()
    {
        lock (_lock)
        {
            _sessionNumber++;
            _current = new OpenSession(User, Host, $"{User}.{_sessionNumber}", _sessionNumber);
            return _current.Nick;
        }
    }

    private void EndSession(SessionEnd end, string? status)
    {
        lock (_lock)
        {
            if (_current?.JoinedAt is not null) _sessions.Add(_current.Close(_clock.Now, end, status));
            _current = null;
        }
    }

    private JoinOutcome Handle(XElement stanza, string nick)
    {
        var now = _clock.Now;
        var type = (string?)stanza.Attribute("type");
        var from = (string?)stanza.Attribute("from") ?? "";
        var fromNick = from.StartsWith(_room + "/", StringComparison.Ordinal) ? from[(_room.Length + 1)..] : null;
        switch (stanza.Name.LocalName)
        {
            case "presence" when fromNick == nick:
                if (type == "error") return JoinOutcome.Refused;
                if (type == "unavailable")
                {
                    var codes = stanza.Element(MucClientSteps.MucUser + "x")?.Elements(MucClientSteps.MucUser + "status")
                        .Select(status => (string?)status.Attribute("code"));
                    EndSession(SessionEnd.RemovedByRoom, codes is null ? null : string.Join(",", codes));
                    return JoinOutcome.Removed;
                }
                if (MucClientSteps.HasStatus(stanza, 110))
                {
                    lock (_lock)
                    {
                        if (_current is { JoinedAt: null } joining) joining.JoinedAt = now;
                    }
                    _firstJoin.TrySetResult();
                }
                break;
            case "presence" when fromNick is not null && type == "unavailable":
                lock (_lock) _current?.DeparturesSeen.TryAdd(fromNick, now);
                break;
            case "message" when type == "error":
                var id = (string?)stanza.Attribute("id");
                if (id is null || !id.StartsWith(User + "-", StringComparison.Ordinal)) break;
                var condition = stanza.Element(XmppNamespaces.Client + "error")?.Elements().FirstOrDefault(element => element.Name.Namespace == Stanzas)?.Name.LocalName;
                lock (_lock) _bounces.Add(new Bounce(id, condition ?? "?", now));
                break;
            case "message" when type == "groupchat":
                var body = stanza.Element(XmppNamespaces.Client + "body")?.Value;
                if (body is null || !body.StartsWith(BodyPrefix, StringComparison.Ordinal)) break;
                var key = body[BodyPrefix.Length..].Replace(' ', '-');
                lock (_lock) _current?.Receipts.Add(new Receipt(key, stanza.Element(Delay + "delay") is not null, now));
                break;
        }
        return JoinOutcome.None;
    }

    private async Task SpeakAsync(TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        using var stopTimer = stop.Register(timer.Dispose);
        while (await timer.WaitForNextTickAsync(CancellationToken.None))
        {
            XmppTestClient? client;
            SentMessage message;
            lock (_lock)
            {
                if (!_sending) return;
                client = _client;
                if (client is null || _current?.JoinedAt is null) continue;
                message = new SentMessage($"{User}-{++_sequence}", User, _current.Number, _clock.Now);
                _sent.Add(message);
            }
            var sequence = message.Key[(User.Length + 1)..];
            if (!await SendOrIgnoreAsync(client, new XElement(XmppNamespaces.Client + "message", new XAttribute("to", _room),
                    new XAttribute("type", "groupchat"), new XAttribute("id", message.Key),
                    new XElement(XmppNamespaces.Client + "body", $"{BodyPrefix}{User} {sequence}"))))
            {
                lock (_lock) _sent.Remove(message); // it never left: the stream was already gone
            }
        }
    }

    /// <summary>Sends unless the stream is gone (its server was killed): the receive side notices and reconnects.</summary>
    private static async Task<bool> SendOrIgnoreAsync(XmppTestClient client, XElement stanza)
    {
        try
        {
            await client.SendAsync(stanza);
            return true;
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _speech;
        await _life;
        _stop.Dispose();
    }

    /// <summary>The session being built; becomes a <see cref="RoomSession"/> when it ends.</summary>
    private sealed class OpenSession(string user, string host, string nick, int number)
    {
        public string Nick => nick;
        public int Number => number;
        public TimeSpan? JoinedAt { get; set; }
        public List<Receipt> Receipts { get; } = [];
        public Dictionary<string, TimeSpan> DeparturesSeen { get; } = [];

        public RoomSession Close(TimeSpan? endedAt, SessionEnd end, string? status) =>
            new(user, host, nick, number, JoinedAt!.Value, endedAt, end, status, Receipts.ToList(), new Dictionary<string, TimeSpan>(DeparturesSeen));
    }
}
