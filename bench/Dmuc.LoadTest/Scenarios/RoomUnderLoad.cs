using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dmuc.LoadTest.Client;
using Dmuc.LoadTest.Servers;

namespace Dmuc.LoadTest.Scenarios;

/// <summary>
/// N logged-in clients (spread over the backend's XMPP hosts) and the one room they share; runs the measured phases (join, closed-loop
/// saturation, paced sending) and turns what the clients counted into results.
/// </summary>
public sealed class RoomUnderLoad : IAsyncDisposable
{
    private const int ConcurrentLogins = 32;
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan QuietTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxPacerSleep = TimeSpan.FromMilliseconds(50);

    private readonly ServerUnderTest _server;
    private readonly List<LoadClient> _clients;
    private readonly string _roomJid;
    private int _nextPhaseId;

    private RoomUnderLoad(ServerUnderTest server, List<LoadClient> clients, string roomJid)
    {
        _server = server;
        _clients = clients;
        _roomJid = roomJid;
    }

    public int Occupants => _clients.Count;

    public string RoomJid => _roomJid;

    public static async Task<RoomUnderLoad> ConnectAsync(ServerUnderTest server, int occupants, CancellationToken cancellationToken)
    {
        var clients = new LoadClient[occupants];
        using var logins = new SemaphoreSlim(ConcurrentLogins);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, occupants).Select(async index =>
            {
                await logins.WaitAsync(cancellationToken);
                try
                {
                    var host = server.HostOf(index);
                    clients[index] = await LoadClient.ConnectAsync(host.ClientEndpoint, host.Domain, index, cancellationToken);
                }
                finally
                {
                    logins.Release();
                }
            }));
        }
        catch
        {
            foreach (var client in clients.Where(client => client is not null)) await client.DisposeAsync();
            throw;
        }
        var roomJid = $"load{occupants}@{ServerUnderTest.MucDomain}";
        foreach (var client in clients) client.UseRoom(roomJid);
        return new RoomUnderLoad(server, clients.ToList(), roomJid);
    }

    /// <summary>
    /// The first client creates the room (an instant room, unlocking it); all the others then send their join
    /// at once, and the join time runs until the last of them has its self-presence.
    /// </summary>
    public async Task<JoinResult> JoinAllAsync(CancellationToken cancellationToken)
    {
        var creator = _clients[0];
        creator.SendJoin(_roomJid);
        var created = await creator.SelfPresence.WaitAsync(JoinTimeout, cancellationToken);
        if (created.Stanza.Contains("code='201'", StringComparison.Ordinal) || created.Stanza.Contains("code=\"201\"", StringComparison.Ordinal))
        {
            var answer = await creator.RequestAsync(
                $"<iq type='set' id='instant' to='{_roomJid}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
                TimeSpan.FromSeconds(30));
            if (!answer.Contains("type='result'", StringComparison.Ordinal))
                throw new InvalidOperationException($"Configuring {_roomJid} as an instant room failed: {answer}");
        }

        var joiners = _clients.Skip(1).ToList();
        var before = _server.SampleCpu();
        var start = Stopwatch.GetTimestamp();
        foreach (var joiner in joiners) joiner.SendJoin(_roomJid);
        var joined = await Task.WhenAll(joiners.Select(joiner => joiner.SelfPresence)).WaitAsync(JoinTimeout, cancellationToken);
        var cpu = _server.SampleCpu().Since(before);
        var joinTimes = joined.Select(presence => Stopwatch.GetElapsedTime(start, presence.ReceivedAt)).Order().ToList();
        await WaitUntilQuietAsync(cancellationToken);
        return new JoinResult(joiners.Count, joinTimes.Count == 0 ? TimeSpan.Zero : joinTimes[joinTimes.Count / 2],
            joinTimes.Count == 0 ? TimeSpan.Zero : joinTimes[^1], cpu, joiners.Sum(joiner => joiner.JoinRetries));
    }

    /// <summary>Presence floods of a join outlast the last self-presence; the next phase must not measure them.</summary>
    private async Task WaitUntilQuietAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(QuietTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var lastStanza = _clients.Max(client => client.LastStanzaTimestamp);
            if (Stopwatch.GetElapsedTime(lastStanza) >= QuietPeriod) return;
            await Task.Delay(QuietPeriod / 5, cancellationToken);
        }
    }

    /// <summary>
    /// Saturation as a closed loop: each sender keeps at most <paramref name="window"/> messages in flight (sent,
    /// its own echo not yet back), so the server is always busy but its queues stay bounded.
    /// </summary>
    public Task<PhaseResult> SaturateAsync(int senders, int window, TimeSpan duration, TimeSpan drainTimeout,
        CancellationToken cancellationToken) =>
        RunPhaseAsync(senders, window, drainTimeout, cancellationToken, tracePath: null, async (phaseId, senderClients, tallies) =>
        {
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var sent = await Task.WhenAll(senderClients.Select(async sender =>
            {
                var echoes = tallies[sender.Index].OwnEchoWindow!;
                long count = 0;
                while (!cancellationToken.IsCancellationRequested)
                {
                    var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), end);
                    if (remaining <= TimeSpan.Zero || !await echoes.WaitAsync(remaining, cancellationToken)) break;
                    sender.SendGroupchat(phaseId);
                    count++;
                }
                return count;
            }));
            return sent.Sum();
        });

    /// <summary>
    /// Open loop at a fixed rate: a pacing thread sends what is due every millisecond, round-robin over the
    /// senders, whatever the server's state (that is how overload is produced too).
    /// </summary>
    /// <param name="tracePath">Where to write every delivery of the phase (CSV), if anywhere.</param>
    public Task<PhaseResult> SendAtRateAsync(int senders, double messagesPerSecond, TimeSpan duration, TimeSpan drainTimeout,
        CancellationToken cancellationToken, string? tracePath = null) =>
        RunPhaseAsync(senders, window: null, drainTimeout, cancellationToken, tracePath, (phaseId, senderClients, _) =>
        {
            var sent = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var pacer = new Thread(() =>
            {
                long count = 0;
                var start = Stopwatch.GetTimestamp();
                while (!cancellationToken.IsCancellationRequested)
                {
                    var elapsed = Stopwatch.GetElapsedTime(start);
                    if (elapsed >= duration) break;
                    var due = (long)(elapsed.TotalSeconds * messagesPerSecond);
                    for (; count < due; count++) senderClients[(int)(count % senderClients.Count)].SendGroupchat(phaseId);
                    // Sleeping until the next message is due keeps the pacer's own CPU out of low-rate results.
                    var untilNext = TimeSpan.FromSeconds((count + 1) / messagesPerSecond) - Stopwatch.GetElapsedTime(start);
                    Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(untilNext.TotalMilliseconds, 1, MaxPacerSleep.TotalMilliseconds)));
                }
                sent.SetResult(count);
            }) { IsBackground = true, Name = "pacer", Priority = ThreadPriority.AboveNormal };
            pacer.Start();
            return sent.Task;
        });

    private delegate Task<long> SendPhase(int phaseId, IReadOnlyList<LoadClient> senders, IReadOnlyList<PhaseTally> tallies);

    private async Task<PhaseResult> RunPhaseAsync(int senderCount, int? window, TimeSpan drainTimeout,
        CancellationToken cancellationToken, string? tracePath, SendPhase send)
    {
        var phaseId = ++_nextPhaseId;
        var senders = _clients.Take(Math.Clamp(senderCount, 1, _clients.Count)).ToList();
        var tallies = _clients.Select(client => new PhaseTally(phaseId,
            window is { } size && client.Index < senders.Count ? new SemaphoreSlim(size) : null, traced: tracePath is not null)).ToList();
        for (var i = 0; i < _clients.Count; i++) _clients[i].BeginPhase(tallies[i]);

        var before = _server.SampleCpu();
        var start = Stopwatch.GetTimestamp();
        var sent = await send(phaseId, senders, tallies);
        var sendTime = Stopwatch.GetElapsedTime(start);
        var expectedPerClient = sent;
        var drainDeadline = Stopwatch.GetTimestamp() + (long)(drainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (tallies.Any(tally => tally.Received < expectedPerClient) && Stopwatch.GetTimestamp() < drainDeadline)
            await Task.Delay(DrainPoll, cancellationToken);
        var cpu = _server.SampleCpu().Since(before);

        var latency = new LatencyHistogram();
        foreach (var tally in tallies) latency.Add(tally.Latency);
        var received = tallies.Sum(tally => tally.Received);
        var lastDelivery = tallies.Max(tally => tally.LastReceivedTimestamp);
        foreach (var tally in tallies) tally.OwnEchoWindow?.Dispose();
        if (tracePath is not null) await WriteTraceAsync(tracePath, start, tallies);
        var errors = tallies.Sum(tally => tally.Errors);
        return new PhaseResult(
            Occupants: _clients.Count,
            Senders: senders.Count,
            MessagesSent: sent,
            SendTime: sendTime,
            // A message refused to its sender (an error, e.g. the service shedding load) is an outcome, not a loss.
            ExpectedDeliveries: (sent - errors) * _clients.Count,
            Deliveries: received,
            DeliveryTime: lastDelivery > start ? Stopwatch.GetElapsedTime(start, lastDelivery) : TimeSpan.Zero,
            ErrorsReceived: errors,
            Latency: latency,
            Cpu: cpu,
            CpuWindow: Stopwatch.GetElapsedTime(start));
    }

    private static readonly TimeSpan TraceWindow = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// One line per delivery: when it was sent (ms into the phase), its latency, and from which host to which; and a
    /// summary beside it (PATH.summary.txt): p50/p99 per sender→receiver host and per 500 ms of sending. A tail that
    /// sits in a few windows and on every pair is a stall of something all paths share; one on some pairs is a hop.
    /// </summary>
    private async Task WriteTraceAsync(string path, long phaseStart, IReadOnlyList<PhaseTally> tallies)
    {
        var byPair = new SortedDictionary<string, LatencyHistogram>(StringComparer.Ordinal);
        var byWindow = new SortedDictionary<long, LatencyHistogram>();
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync("sent_ms,latency_ms,sender,sender_host,receiver,receiver_host");
            for (var receiver = 0; receiver < tallies.Count; receiver++)
            {
                var receiverHost = _server.HostOf(receiver).Domain;
                foreach (var delivery in tallies[receiver].Trace!)
                {
                    var senderHost = _server.HostOf(delivery.Sender).Domain;
                    var sentMs = (delivery.ReceivedAt - phaseStart) * 1000.0 / Stopwatch.Frequency - delivery.LatencyMicroseconds / 1000.0;
                    await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{sentMs:0.000},{delivery.LatencyMicroseconds / 1000.0:0.000},{delivery.Sender},{senderHost},{receiver},{receiverHost}"));
                    HistogramOf(byPair, $"{senderHost} -> {receiverHost}").Record(delivery.LatencyMicroseconds);
                    HistogramOf(byWindow, (long)Math.Max(0, sentMs / TraceWindow.TotalMilliseconds)).Record(delivery.LatencyMicroseconds);
                }
            }
        }
        var summary = new StringBuilder("latency (ms) by sender's host -> receiver's host: p50 p99 max\n");
        foreach (var (pair, histogram) in byPair) summary.AppendLine(Describe(pair, histogram));
        summary.AppendLine($"latency (ms) by when it was sent, {TraceWindow.TotalMilliseconds:0} ms windows: p50 p99 max");
        foreach (var (window, histogram) in byWindow)
            summary.AppendLine(Describe($"{window * TraceWindow.TotalSeconds,6:0.0} s", histogram));
        await File.WriteAllTextAsync(Path.ChangeExtension(path, ".summary.txt"), summary.ToString());
    }

    private static LatencyHistogram HistogramOf<TKey>(SortedDictionary<TKey, LatencyHistogram> histograms, TKey key) where TKey : notnull =>
        histograms.TryGetValue(key, out var histogram) ? histogram : histograms[key] = new LatencyHistogram();

    private static string Describe(string label, LatencyHistogram histogram) => string.Create(CultureInfo.InvariantCulture,
        $"  {label,-30} {histogram.Percentile(50) / 1000.0,9:0.0} {histogram.Percentile(99) / 1000.0,9:0.0} {histogram.MaxMicroseconds / 1000.0,9:0.0}");

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_clients.Select(client => client.DisposeAsync().AsTask()));
    }
}

/// <param name="Retries">Joins refused with a wait error (load shed) and sent again.</param>
public sealed record JoinResult(int Joiners, TimeSpan MedianJoinTime, TimeSpan JoinTime, CpuSample Cpu, int Retries);

public sealed record PhaseResult(
    int Occupants,
    int Senders,
    long MessagesSent,
    TimeSpan SendTime,
    long ExpectedDeliveries,
    long Deliveries,
    TimeSpan DeliveryTime,
    long ErrorsReceived,
    LatencyHistogram Latency,
    CpuSample Cpu,
    TimeSpan CpuWindow)
{
    public long Lost => Math.Max(0, ExpectedDeliveries - Deliveries);

    public double DeliveriesPerSecond => DeliveryTime > TimeSpan.Zero ? Deliveries / DeliveryTime.TotalSeconds : 0;

    public double OfferedMessagesPerSecond => SendTime > TimeSpan.Zero ? MessagesSent / SendTime.TotalSeconds : 0;

    public double MicrosecondsPerDelivery(TimeSpan cpu) => Deliveries > 0 ? cpu.TotalMicroseconds / Deliveries : 0;
}
