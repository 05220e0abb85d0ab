using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Cli;
using Dmuc.Management.Contracts;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Chaos;

/// <summary>What a chaos run does: its seed, how long faults are injected, how fast each user talks, which faults.</summary>
public sealed record ChaosOptions(int Seed, TimeSpan Duration, TimeSpan MessageInterval, IReadOnlyCollection<FaultKind> Faults)
{
    public static readonly IReadOnlyCollection<FaultKind> AllFaults = Enum.GetValues<FaultKind>();

    /// <summary>How long the run waits, after the last fault, for every message to settle before it gives up on them.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Runs the chaos test on a started <see cref="LocalTopology"/>: every user but one per host stays in the room and
/// talks while the seeded faults hit; then every fault is undone, the run settles, and the last user of every host
/// enters as a newcomer to see who is in and the room's history. Returns the record for <see cref="ChaosChecker"/>.
/// </summary>
public sealed class ChaosRun(LocalTopology topology, ChaosOptions options, TextWriter log)
{
    /// <summary>
    /// How long a ghost may outlive its server's restart: the replica links' keepalive answer timeout (a ping unanswered
    /// for the keepalive interval plus the ping timeout), the longest a node takes to notice anything of a peer.
    /// </summary>
    public static TimeSpan GhostBound => ReplicationSettings.Default.KeepaliveInterval + ReplicationSettings.Default.PingTimeout;

    private const int WitnessHistory = 20;
    private static readonly TimeSpan EntryTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ServerStartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SettlePoll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan DrillDeferral = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrillRetry = TimeSpan.FromMilliseconds(500);

    private readonly ChaosClock _clock = new();
    private readonly TopologyDescription _description = topology.Description;

    public async Task<ChaosRecord> RunAsync(CancellationToken cancellationToken = default)
    {
        var hosts = _description.Hosts;
        var room = _description.Room;
        await CreateRoomAsync(hosts[0], room);

        var users = hosts.SelectMany(host => host.Users.SkipLast(1).Select(account => new ChaosUser(topology.ClientEndpoint(host), account, room, _clock))).ToList();
        await using var leave = AsyncDisposable.Create(async () =>
        {
            foreach (var user in users) await user.DisposeAsync();
        });
        users.ForEach(user => user.Start());
        await Task.WhenAll(users.Select(user => user.FirstJoin)).WaitAsync(EntryTimeout, cancellationToken);
        Log($"{users.Count} users in {room}: {string.Join(", ", users.Select(user => $"{user.User}@{user.Host}"))}");

        users.ForEach(user => user.StartSpeaking(options.MessageInterval));
        var faults = await InjectFaultsAsync(hosts, cancellationToken);
        foreach (var user in users) await user.StopSpeakingAsync();
        Log("faults over, traffic stopped; settling");

        // Crashes can leave ghosts, which the newcomers' rosters hold to the bound; a cut cannot.
        var lastRestart = faults.Where(fault => fault.Planned.Kind != FaultKind.Cut).Select(fault => fault.RecoveredAt).DefaultIfEmpty().Max();
        await SettleAsync(users, faults, lastRestart, cancellationToken);

        var witnesses = new List<XmppTestClient>();
        await using var witnessesLeave = AsyncDisposable.Create(async () =>
        {
            foreach (var witness in witnesses) await witness.DisposeAsync();
        });
        var views = new List<WitnessView>();
        foreach (var host in hosts) views.Add(await WitnessAsync(host, room, witnesses));
        return Record(users, faults, views);
    }

    /// <summary>The primary host's witness creates the room (persistent, so it outlives everyone's leaving) and leaves it.</summary>
    private async Task CreateRoomAsync(TopologyHost primary, string room)
    {
        var owner = primary.Users[^1];
        await using var client = await XmppTestClient.ConnectAsync(topology.ClientEndpoint(primary), owner.Jid + "/create", owner.Password);
        await client.JoinRoomAsync(room, "owner");
        await client.ConfigureRoomAsync(room, ("muc#roomconfig_persistentroom", "1"));
    }

    private async Task<List<InjectedFault>> InjectFaultsAsync(IReadOnlyList<TopologyHost> hosts, CancellationToken cancellationToken)
    {
        var injected = new List<InjectedFault>();
        var hostNames = hosts.Select(host => host.Domain).ToList();
        var plan = FaultSchedule.Plan(options.Seed, options.Faults, hostNames, options.Duration);
        // The planned faults, each after its gap, however long the topology takes to recover: a seed and a duration
        // always give the same faults, and the run lasts longer than the duration by those recoveries.
        foreach (var (_, fault) in plan)
        {
            await Task.Delay(fault.Gap, cancellationToken);
            var dueAt = _clock.Now;
            var (problem, injectedAt) = await InjectAsync(fault, cancellationToken);
            var injectedBy = _clock.Now;
            var deferred = injectedAt - dueAt >= TimeSpan.FromSeconds(0.1) ? $" (deferred {(injectedAt - dueAt).TotalSeconds:0.0} s until it could be)" : "";
            Log($"{fault.Kind} {fault.Host} at {injectedAt.TotalSeconds:0.0} s for {fault.Lasts.TotalSeconds:0.0} s{deferred}{(problem is null ? "" : ": " + problem)}");
            await Task.Delay(fault.Lasts, cancellationToken);
            var recoveryProblem = await RecoverAsync(fault, cancellationToken);
            var recoveredAt = _clock.Now;
            Log($"  undone at {recoveredAt.TotalSeconds:0.0} s{(recoveryProblem is null ? "" : ": " + recoveryProblem)}");
            injected.Add(new InjectedFault(fault, injectedAt, recoveredAt, problem ?? recoveryProblem, injectedBy));
        }
        var planEnd = plan.Count == 0 ? TimeSpan.Zero : plan[^1].At + plan[^1].Fault.Lasts;
        await Task.Delay(options.Duration - planEnd, cancellationToken); // the rest of the duration, fault-free
        return injected;
    }

    /// <returns>What went wrong, and when the command that injected it started.</returns>
    private async Task<(string? Problem, TimeSpan InjectedAt)> InjectAsync(Fault fault, CancellationToken cancellationToken)
    {
        var primary = _description.Hosts[0];
        if (fault.Kind == FaultKind.Cut) return await CutOnceWholeAsync(primary.Domain, fault.Host, cancellationToken);
        var injectedAt = _clock.Now;
        var problem = fault.Kind == FaultKind.ServerCrash
            ? await ScriptAsync(() => topology.CrashAsync(LocalTopology.ProsodyName(_description.Host(fault.Host)), cancellationToken))
            : await ScriptAsync(() => topology.CrashAsync(_description.Host(fault.Host).Node.Name, cancellationToken));
        return (problem, injectedAt);
    }

    private async Task<string?> RecoverAsync(Fault fault, CancellationToken cancellationToken)
    {
        var host = _description.Host(fault.Host);
        switch (fault.Kind)
        {
            case FaultKind.Cut:
                return await HealUntilEveryNodeAnswersAsync(cancellationToken);
            case FaultKind.ServerCrash:
                var problem = await ScriptAsync(() => topology.RestartAsync(LocalTopology.ProsodyName(host), cancellationToken));
                var deadline = _clock.Now + ServerStartTimeout;
                while (!await FreeTcpPorts.AcceptsConnectionsAsync(host.C2s.Port, cancellationToken))
                {
                    if (_clock.Now > deadline) return $"{host.Domain}'s Prosody does not listen {ServerStartTimeout.TotalSeconds:0} s after its restart";
                    await Task.Delay(100, cancellationToken);
                }
                return problem;
            default:
                return await ScriptAsync(() => topology.RestartAsync(host.Node.Name, cancellationToken));
        }
    }

    /// <summary>
    /// A cut once the topology is whole, deferred (at most <see cref="DrillDeferral"/>) so that every cut drawn is injected. The
    /// primary cuts the nodes its view names for both hosts: a node restarted by a fault before is named only once it has
    /// rejoined and proven its certificate, seconds after it listens ("no Dmuc node serves …", which changes nothing and is
    /// tried again), and until it has rejoined the view may still list its previous incarnation, whose drill never answers
    /// while the primary's half of the cut then keeps the new one from joining (so the cut waits for every member to be Up and
    /// reachable first).
    /// </summary>
    /// <returns>What went wrong, and when the cut that took (or the last try) started.</returns>
    private async Task<(string? Problem, TimeSpan InjectedAt)> CutOnceWholeAsync(string primaryHost, string host, CancellationToken cancellationToken)
    {
        var deadline = _clock.Now + DrillDeferral;
        while (true)
        {
            if (await TopologyWholeAsync(deadline, cancellationToken) is { } notWhole) return (notWhole, _clock.Now);
            var cutAt = _clock.Now;
            var (exitCode, problem) = await DmucAsync(cancellationToken, "netsplit", "cut", primaryHost, host);
            // A drill that did not answer in time (a node busy restarting) is asked again as well; the cut is the same twice.
            if (exitCode is not (ExitCodes.NotFound or ExitCodes.NodeUnreachable) || _clock.Now > deadline) return (problem, cutAt);
            await Task.Delay(DrillRetry, cancellationToken);
        }
    }

    /// <summary>Waits until the primary's cluster view has every host's node Up and every member reachable: null then, else why not by <paramref name="deadline"/>.</summary>
    private async Task<string?> TopologyWholeAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var management = new ManagementClient(new Uri(_description.Hosts[0].Node.ManagementAddress!), token: null);
        var missing = "";
        while (_clock.Now <= deadline)
        {
            try
            {
                var members = (await management.GetAsync<ClusterView>(ManagementApi.Cluster, cancellationToken)).Members;
                missing = string.Join(", ", [
                    .. _description.Hosts.Select(host => host.Domain)
                        .Where(host => !members.Any(member => member.HostDomain == host && member.Status == "Up" && member.Reachable)),
                    .. members.Where(member => !member.Reachable).Select(member => $"{member.Address} (unreachable)")]);
                if (missing.Length == 0) return null;
            }
            catch (ManagementException error)
            {
                missing = error.Message;
            }
            await Task.Delay(DrillRetry, cancellationToken);
        }
        return $"the topology was not whole {DrillDeferral.TotalSeconds:0} s after the cut was due (not Up and reachable: {missing})";
    }

    /// <summary>A heal, run again until every node answers it (at most <see cref="DrillDeferral"/>): a node restarting meanwhile does not.</summary>
    private async Task<string?> HealUntilEveryNodeAnswersAsync(CancellationToken cancellationToken)
    {
        var deadline = _clock.Now + DrillDeferral;
        while (true)
        {
            var (_, problem) = await DmucAsync(cancellationToken, "netsplit", "heal");
            if (problem is null || _clock.Now > deadline) return problem;
            await Task.Delay(DrillRetry, cancellationToken);
        }
    }

    /// <summary>The dmuc CLI, as an operator runs it, against the primary's management endpoint; its exit code, and what it said unless it succeeded.</summary>
    private async Task<(int ExitCode, string? Problem)> DmucAsync(CancellationToken cancellationToken, params string[] command)
    {
        var (printed, complaints) = (new StringWriter(), new StringWriter());
        string[] arguments = ["--node", _description.Hosts[0].Node.ManagementAddress!, .. command];
        var exitCode = await new DmucCli(printed, complaints, _ => null).InvokeAsync(arguments, cancellationToken);
        return (exitCode, exitCode == ExitCodes.Ok ? null : $"dmuc {string.Join(' ', command)} exited with {exitCode}: {printed}{complaints}".Trim());
    }

    private static async Task<string?> ScriptAsync(Func<Task<string>> script)
    {
        try
        {
            await script();
            return null;
        }
        catch (InvalidOperationException error)
        {
            return error.Message;
        }
    }

    /// <summary>
    /// Waits until every message has its outcome and every copy owed has arrived (or the timeout), and at least until
    /// the ghost bound after the last crashed process was restarted, so a newcomer's roster can be held to it.
    /// </summary>
    private async Task SettleAsync(List<ChaosUser> users, List<InjectedFault> faults, TimeSpan lastRestart, CancellationToken cancellationToken)
    {
        var deadline = _clock.Now + options.SettleTimeout;
        while (true)
        {
            var verdict = ChaosChecker.Check(Record(users, faults, []));
            var settled = verdict.Lost == 0 && verdict.MissingCopies == 0;
            if (settled && _clock.Now >= lastRestart + GhostBound) return;
            if (_clock.Now > deadline)
            {
                Log($"not settled after {options.SettleTimeout.TotalSeconds:0} s: {verdict.Lost} without outcome, {verdict.MissingCopies} copies missing");
                return;
            }
            await Task.Delay(SettlePoll, cancellationToken);
        }
    }

    /// <summary>A newcomer enters from <paramref name="host"/> asking for the room's last messages, and stays (the next newcomer sees it).</summary>
    private async Task<WitnessView> WitnessAsync(TopologyHost host, string room, List<XmppTestClient> witnesses)
    {
        var account = host.Users[^1];
        var nick = account.Jid.Split('@')[0] + ".witness";
        try
        {
            var client = await XmppTestClient.ConnectAsync(topology.ClientEndpoint(host), account.Jid + "/witness", account.Password);
            witnesses.Add(client);
            await client.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", $"{room}/{nick}"),
                new XElement(MucClientSteps.Muc + "x", new XElement(MucClientSteps.Muc + "history", new XAttribute("maxstanzas", WitnessHistory)))));
            var entry = await client.ReceiveUntilAsync(stanza => stanza.Element(XmppNamespaces.Client + "subject") is not null
                || stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "error", EntryTimeout);
            if (entry[^1].Name.LocalName == "presence")
            {
                var error = entry[^1].Element(XmppNamespaces.Client + "error");
                var condition = error?.Elements().FirstOrDefault()?.Name.LocalName;
                return new WitnessView(host.Domain, nick, null, null, $"entry refused: {condition} ({error?.Elements().LastOrDefault()?.Value})");
            }
            var occupants = entry.Where(stanza => stanza.Name.LocalName == "presence" && stanza.Attribute("type") is null)
                .Select(stanza => ((string)stanza.Attribute("from")!)[(room.Length + 1)..]).Where(occupant => occupant != nick).Distinct().ToList();
            var history = entry.Select(stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value)
                .Where(body => body?.StartsWith(ChaosUser.BodyPrefix, StringComparison.Ordinal) == true)
                .Select(body => body![ChaosUser.BodyPrefix.Length..].Replace(' ', '-')).ToList();
            Log($"{nick} entered from {host.Domain}: {occupants.Count} occupants, {history.Count} messages of history");
            return new WitnessView(host.Domain, nick, occupants, history, null);
        }
        catch (Exception error) when (error is TimeoutException or XmppNegotiationException or IOException)
        {
            return new WitnessView(host.Domain, nick, null, null, error.Message);
        }
    }

    private ChaosRecord Record(List<ChaosUser> users, List<InjectedFault> faults, IReadOnlyList<WitnessView> witnesses)
    {
        var snapshots = users.Select(user => user.Snapshot()).ToList();
        return new ChaosRecord(snapshots.SelectMany(snapshot => snapshot.Sent).ToList(), snapshots.SelectMany(snapshot => snapshot.Bounces).ToList(),
            snapshots.SelectMany(snapshot => snapshot.Sessions).ToList(), faults.ToList(), witnesses, GhostBound,
            // deploy/local/up.sh loads mod_dmuc_stream_ack on every host's Prosody.
            _description.Hosts.Select(host => host.Domain).ToHashSet());
    }

    private void Log(string line) => log.WriteLine($"[{_clock.Now.TotalSeconds,7:0.0} s] {line}");
}
