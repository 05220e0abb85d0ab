using Akka.Actor;
using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Netsplit;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.NetsplitBench;

/// <param name="Occupants">Room size, the owner included, spread round-robin over avalon, killrc and vesa.</param>
/// <param name="Messages">Groupchat messages sent from the primary side (avalon and vesa) during each split.</param>
/// <param name="HistoryLength">What the room gives entrants; a netjoin brings back more, from the netjoin backlog.</param>
public sealed record BenchOptions(int Occupants, int Messages, int Repetitions, int HistoryLength);

/// <summary>One keepalive setting under test.</summary>
public sealed record KeepaliveSetting(string Name, ReplicationSettings Settings)
{
    public static readonly KeepaliveSetting Production = new("production", ReplicationSettings.Default);
    /// <summary>
    /// Fast, yet slow enough for a loaded two-core machine: the actor tests' 300/500/200 ms split links falsely
    /// during the 1,000-occupant join here, and the netjoins that follow never finish (docs/benchmarks.md).
    /// </summary>
    public static readonly KeepaliveSetting Fast = new("fast", new ReplicationSettings(
        KeepaliveInterval: TimeSpan.FromSeconds(2), PingTimeout: TimeSpan.FromSeconds(3), SplitPingInterval: TimeSpan.FromMilliseconds(500)));

    /// <summary>The keepalive the actor tests run with (<see cref="NetsplitCluster.FastKeepalive"/>).</summary>
    public static readonly KeepaliveSetting Test = new("test", NetsplitCluster.FastKeepalive);

    public string Describe() =>
        $"{Name} (keepalive-interval {Settings.KeepaliveInterval.TotalMilliseconds} ms, ping-timeout {Settings.PingTimeout.TotalMilliseconds} ms, " +
        $"split-ping-interval {Settings.SplitPingInterval.TotalMilliseconds} ms)";
}

/// <summary>The times of one split and netjoin, in seconds from the cut (detection) or from the heal (netjoin); null when not observed.</summary>
public sealed record RoundResult(
    int Round,
    double? PrimaryDetected,
    double? ReplicaDetected,
    double? PrimarySideDelivered,
    double? NetjoinStarted,
    double? ReportProcessed,
    double? ResyncSent,
    double? ResyncReceived,
    double? AllDelivered,
    double? ReplicaRejoined,
    long ResyncBytes,
    int ResyncItems,
    int Resyncs,
    long NetjoinDeliveries,
    int OtherSplits,
    IReadOnlyList<string> Problems)
{
    public bool Converged => Problems.Count == 0;
}

/// <param name="Failure">Why the setting's run stopped early, if it did.</param>
public sealed record SettingResult(KeepaliveSetting Setting, double JoinSeconds, IReadOnlyList<string> JoinProblems, IReadOnlyList<RoundResult> Rounds,
    string? Failure = null);

/// <summary>
/// A three-node cluster in this process (avalon primary, killrc and vesa replicas: the actor tests' fixture over
/// real remoting), one room of <see cref="BenchOptions.Occupants"/> entered through the real stanza path, then per
/// round: cut avalon↔killrc, send the messages from the primary side, wait until both ends mark the link split,
/// heal, and time the netjoin until killrc's users have every message; then check convergence.
/// </summary>
public sealed class NetsplitScenario(BenchOptions options, KeepaliveSetting setting, TextWriter progress)
{
    private const string RoomJid = "netsplit@" + Service;
    private static readonly string[] Hosts = [Avalon, Killrc, Vesa];
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan JoinStall = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromMinutes(3);

    private static readonly Config Logging = ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = INFO
          loggers = ["{{typeof(LinkEventLogger).AssemblyQualifiedName}}"]
        }
        """);

    private readonly Jid _room = Jid.Parse(RoomJid);
    private readonly object _resyncLock = new();
    private readonly List<(ReplicaBatch Batch, DateTime At)> _resyncs = [];
    private NetsplitCluster _netsplit = null!;
    private Dictionary<string, HostTally> _tallies = null!;
    private List<ChatUser> _users = null!;

    private DmucTestCluster Cluster => _netsplit.Cluster;

    public async Task<SettingResult> RunAsync()
    {
        var service = DmucTestCluster.ServiceOptions with
        {
            HistoryLength = options.HistoryLength,
            MaxHistoryStored = Math.Max(options.HistoryLength, DmucTestCluster.ServiceOptions.MaxHistoryStored),
        };
        await using var netsplit = await NetsplitCluster.StartAsync(NetsplitCluster.SettingsWith(setting.Settings).WithFallback(Logging),
            service, new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc), new DmucNodeSpec(Vesa));
        _netsplit = netsplit;
        foreach (var node in Cluster.Nodes) LinkEventLog.Register(node.System, node.Host);

        var owner = new ChatUser("Owner", $"owner@{Avalon}/desk");
        _users = [owner, .. Enumerable.Range(1, options.Occupants - 1).Select(i => new ChatUser($"u{i:D4}", $"u{i:D4}@{Hosts[i % Hosts.Length]}/r"))];
        _tallies = Hosts.ToDictionary(host => host, host => new HostTally(host, _room, _users.Where(user => user.Host == host).ToList()));
        foreach (var node in Cluster.Nodes)
        {
            var tally = _tallies[node.Host];
            node.Sink.OnSend = tally.Observe;
            // What ClusterRoom waits for is kept (the owner's deliveries, the barriers); the rest is only counted.
            node.Sink.Retains = delivery => delivery.To.ToString() == owner.Jid || ClusterRoom.IsBarrier(delivery.Stanza);
        }
        Cluster.Node(Killrc).Batches.OnReceived = RecordResync;

        var room = new ClusterRoom(Cluster, RoomJid);
        await room.CreateAsync(owner);
        var (joinSeconds, joinProblems) = await JoinAsync(owner);
        progress.WriteLine($"  {setting.Name}: {options.Occupants} occupants joined in {joinSeconds:F2} s" +
                           (joinProblems.Count == 0 ? "" : $" — PROBLEMS: {string.Join("; ", joinProblems)}"));

        var rounds = new List<RoundResult>();
        for (var round = 1; round <= options.Repetitions; round++)
        {
            var result = await RoundAsync(room, round);
            rounds.Add(result);
            progress.WriteLine($"  {setting.Name} round {round}: detected primary {Fmt(result.PrimaryDetected)} s, replica {Fmt(result.ReplicaDetected)} s; " +
                               $"netjoin: started {Fmt(result.NetjoinStarted)}, resync sent {Fmt(result.ResyncSent)}, received {Fmt(result.ResyncReceived)}, " +
                               $"all delivered {Fmt(result.AllDelivered)} s; resync {result.ResyncBytes:N0} B, {result.ResyncItems} items, " +
                               $"{result.NetjoinDeliveries:N0} deliveries, {result.Resyncs} resync(s)" +
                               (result.OtherSplits == 0 ? "" : $"; {result.OtherSplits} further split events (links not cut, or a netjoin retried)") +
                               (result.Converged ? "; converged" : $"; NOT CONVERGED: {string.Join("; ", result.Problems)}"));
        }
        return new SettingResult(setting, joinSeconds, joinProblems, rounds);
    }

    /// <summary>
    /// Everyone but the owner enters at once, as the load test's join does; timed to the last self-presence. An entry
    /// refused with an error (a replica that believes itself split refuses entries) is sent again, as a client would.
    /// </summary>
    private async Task<(double Seconds, IReadOnlyList<string> Problems)> JoinAsync(ChatUser owner)
    {
        var start = DateTime.UtcNow;
        foreach (var user in _users.Where(user => user != owner))
            Cluster.SendFromUser(Enter(user, RoomJid, "<history maxstanzas='0'/>"));
        var joined = Task.WhenAll(_tallies.Values.Select(tally => tally.AllJoined));
        var retries = 0;
        var lastProgress = start;
        var (lastCount, lastChange) = (0, start);
        while (!joined.IsCompleted)
        {
            if (DateTime.UtcNow - start > JoinTimeout) throw new TimeoutException($"the join did not finish in {JoinTimeout}: {JoinProgress()}");
            var count = _tallies.Values.Sum(tally => tally.JoinedCount);
            if (count != lastCount) (lastCount, lastChange) = (count, DateTime.UtcNow);
            else if (DateTime.UtcNow - lastChange > JoinStall)
                throw new TimeoutException($"the join stalled for {JoinStall.TotalSeconds} s: {JoinProgress()}");
            await Task.WhenAny(joined, Task.Delay(200));
            foreach (var user in _tallies.Values.SelectMany(tally => tally.TakeRefusedEntries()))
            {
                retries++;
                Cluster.SendFromUser(Enter(user, RoomJid, "<history maxstanzas='0'/>"));
            }
            if (DateTime.UtcNow - lastProgress < TimeSpan.FromSeconds(15)) continue;
            lastProgress = DateTime.UtcNow;
            progress.WriteLine($"    joining, {(lastProgress - start).TotalSeconds:F0} s: {JoinProgress()}, {retries} entries sent again");
        }
        var seconds = ((await joined).Max() - start).TotalSeconds;
        var problems = new List<string>(await ConvergenceProblemsAsync());
        var splits = LinkEventLog.All.Count(e => e.Room == RoomJid && e.At >= start && e.Kind is LinkEventKind.PrimarySplit or LinkEventKind.ReplicaSplit);
        // Not a failure of the join, but it makes its time another measurement: say so next to it.
        if (splits > 0 || retries > 0) progress.WriteLine($"    during the join: {splits} link ends marked split, {retries} refused entries sent again");
        return (seconds, problems);
    }

    private string JoinProgress() =>
        string.Join(", ", _tallies.Values.Select(tally => $"{tally.Host} {tally.JoinedCount}/{tally.Users.Count} in ({tally.Errors} errors)")) +
        $", split events so far {LinkEventLog.All.Count(e => e.Room == RoomJid && e.Kind is LinkEventKind.PrimarySplit or LinkEventKind.ReplicaSplit)}";

    private async Task<RoundResult> RoundAsync(ClusterRoom room, int round)
    {
        var problems = new List<string>();
        foreach (var host in new[] { Killrc, Vesa })
            await _netsplit.WaitForLinkStateAsync(RoomJid, host, LinkState.Linked, PhaseTimeout);
        foreach (var tally in _tallies.Values) tally.BeginRound(round, options.Messages);
        var errorsBefore = _tallies.Values.Sum(tally => tally.Errors);
        var killrc = _tallies[Killrc];

        var cut = DateTime.UtcNow;
        await _netsplit.Links.CutAsync(Avalon, Killrc);
        // Users of the primary's own host: never split from the room, so every message is accepted.
        var senders = _users.Where(user => user.Host == Avalon).ToList();
        for (var i = 0; i < options.Messages; i++)
            Cluster.SendFromUser(Say(senders[i % senders.Count], RoomJid, HostTally.Body(round, i), id: $"r{round}-{i}"));

        DateTime? primarySide = null;
        try
        {
            primarySide = (await Task.WhenAll(_tallies[Avalon].RoundComplete, _tallies[Vesa].RoundComplete).WaitAsync(PhaseTimeout)).Max();
        }
        catch (TimeoutException)
        {
            problems.Add($"the primary side did not get every message within {PhaseTimeout.TotalSeconds} s");
        }
        var detectionTimeout = setting.Settings.KeepaliveInterval + setting.Settings.PingTimeout * 2 + PhaseTimeout;
        var primarySplit = await LinkEventLog.WaitForAsync(LinkEventKind.PrimarySplit, RoomJid, Killrc, cut, detectionTimeout);
        var replicaSplit = await LinkEventLog.WaitForAsync(LinkEventKind.ReplicaSplit, RoomJid, Killrc, cut, detectionTimeout);
        if (primarySplit is null) problems.Add("the primary never marked the link split");
        if (replicaSplit is null) problems.Add("the replica never marked itself split");
        if (killrc.Distinct > 0) problems.Add($"killrc's users got {killrc.Distinct} round messages during the split");

        lock (_resyncLock) _resyncs.Clear();
        var deliveriesBeforeHeal = killrc.Deliveries;
        var heal = DateTime.UtcNow;
        await _netsplit.Links.HealAsync(Avalon, Killrc);
        var rejoined = await LinkEventLog.WaitForAsync(LinkEventKind.ReplicaRejoined, RoomJid, Killrc, heal, PhaseTimeout);
        if (rejoined is null) problems.Add("the replica never rejoined");
        DateTime? delivered = null;
        try
        {
            delivered = await killrc.RoundComplete.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            problems.Add($"killrc's users have {killrc.Distinct:N0} of {killrc.Expected:N0} round messages after the netjoin");
        }
        var netjoinDeliveries = killrc.Deliveries - deliveriesBeforeHeal;
        var started = LinkEventLog.First(LinkEventKind.NetjoinStarted, RoomJid, Killrc, heal);
        var processed = LinkEventLog.First(LinkEventKind.ReportProcessed, RoomJid, Killrc, heal);
        var sent = LinkEventLog.First(LinkEventKind.ResyncSent, RoomJid, Killrc, heal);
        List<(ReplicaBatch Batch, DateTime At)> resyncs;
        lock (_resyncLock) resyncs = [.. _resyncs];
        var (resyncBytes, resyncItems, resyncAt) = resyncs.Count == 0
            ? (0L, 0, (DateTime?)null)
            : (WireSize(resyncs[^1].Batch), resyncs[^1].Batch.Items.Count, resyncs[^1].At);

        // Barriers from every host: whatever else was on its way has arrived once every user has them.
        await room.SettleAsync(_users);
        foreach (var tally in _tallies.Values)
        {
            if (tally.Distinct != tally.Expected) problems.Add($"{tally.Host}: {tally.Distinct:N0} of {tally.Expected:N0} (user, message) pairs");
            if (tally.Duplicates > 0) problems.Add($"{tally.Host}: {tally.Duplicates:N0} duplicate copies");
            if (tally.Stray > 0) problems.Add($"{tally.Host}: {tally.Stray:N0} messages of another round");
        }
        if (killrc.Delayed != killrc.Distinct) problems.Add($"killrc: {killrc.Delayed:N0} of {killrc.Distinct:N0} round messages carried a delay");
        var errors = _tallies.Values.Sum(tally => tally.Errors) - errorsBefore;
        if (errors > 0) problems.Add($"{errors} error stanzas to users");
        problems.AddRange(await ConvergenceProblemsAsync());
        var otherSplits = LinkEventLog.All.Count(e => e.Room == RoomJid && e.At >= cut
            && e.Kind is LinkEventKind.PrimarySplit or LinkEventKind.ReplicaSplit
            && e != primarySplit && e != replicaSplit);

        return new RoundResult(round,
            Since(cut, primarySplit?.At), Since(cut, replicaSplit?.At), Since(cut, primarySide),
            Since(heal, started?.At), Since(heal, processed?.At), Since(heal, sent?.At), Since(heal, resyncAt), Since(heal, delivered),
            Since(heal, rejoined?.At), resyncBytes, resyncItems, resyncs.Count, netjoinDeliveries, otherSplits, problems);
    }

    /// <summary>Every user on every host sees the roster the owner sees, which is the room's: all occupants, as they are.</summary>
    private async Task<IReadOnlyList<string>> ConvergenceProblemsAsync()
    {
        var problems = new List<string>();
        var reference = _tallies[Avalon].RosterOfFirstUser();
        if (reference.Count != options.Occupants) problems.Add($"the owner sees {reference.Count} occupants");
        foreach (var tally in _tallies.Values)
        {
            var mismatches = tally.RosterMismatches(reference);
            if (mismatches.Count > 0)
                problems.Add($"{tally.Host}: {mismatches.Count} users see another roster (e.g. {string.Join(", ", mismatches.Take(3))})");
        }
        var occupants = await AskPatientlyAsync(() => Cluster.InspectRoomAsync(RoomJid));
        if (occupants.Occupants != options.Occupants) problems.Add($"the primary counts {occupants.Occupants} occupants");
        foreach (var host in new[] { Killrc, Vesa })
        {
            var replica = await AskPatientlyAsync(() => Cluster.InspectReplicaAsync(RoomJid, host));
            if (replica.Roster.Count != options.Occupants || replica.LocalOccupants.Count != _tallies[host].Users.Count)
                problems.Add($"the replica on {host} has {replica.Roster.Count} occupants, {replica.LocalOccupants.Count} local");
        }
        return problems;
    }

    private void RecordResync(ReplicaBatch batch)
    {
        if (batch.ResyncOf is null || batch.Room != _room) return;
        lock (_resyncLock) _resyncs.Add((batch, DateTime.UtcNow));
    }

    /// <summary>The bytes the batch is on the wire between nodes: what the nodes' serializer makes of it.</summary>
    private long WireSize(ReplicaBatch batch)
    {
        var system = (ExtendedActorSystem)Cluster.Node(Killrc).System;
        return system.Serialization.FindSerializerFor(batch).ToBinary(batch).LongLength;
    }

    /// <summary>A busy room answers inspections late: ask again rather than fail the run.</summary>
    private static async Task<T> AskPatientlyAsync<T>(Func<Task<T>> ask)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ask();
            }
            catch (AskTimeoutException) when (attempt < 20)
            {
            }
        }
    }

    private static double? Since(DateTime start, DateTime? moment) => moment is { } at ? (at - start).TotalSeconds : null;

    private static string Fmt(double? seconds) => seconds is { } s ? s.ToString("F3") : "–";
}
