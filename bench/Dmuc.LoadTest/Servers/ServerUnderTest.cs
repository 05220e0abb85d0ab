using System.Security.Cryptography;
using Dmuc.Credentials;
using Dmuc.LoadTest.Client;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// Everything one backend needs, on free loopback ports: an XMPP server per host and, when Dmuc serves the MUC,
/// a Dmuc node per host as a separate process (the first host's the primary, the others replicas in one
/// cluster), so the CPU time of servers and nodes can be read apart.
/// </summary>
public sealed class ServerUnderTest : IAsyncDisposable
{
    public const string MucDomain = "conference.localhost";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ProbeAnswerTimeout = TimeSpan.FromSeconds(10);
    private const int ProbeClientIndex = 999_000;

    private readonly List<XmppServer> _servers = [];
    private readonly List<ChildProcess> _nodes = [];
    private readonly string _workDirectory;
    private int _probes;

    private readonly bool _archived;
    private readonly string? _nodeLogs;
    private readonly int? _managementPorts;

    private ServerUnderTest(Backend backend, string workDirectory, bool archived, string? nodeLogs, int? managementPorts)
    {
        Backend = backend;
        _workDirectory = workDirectory;
        _archived = archived;
        _nodeLogs = nodeLogs;
        _managementPorts = managementPorts;
    }

    public Backend Backend { get; }

    /// <summary>
    /// Throws unless the server's own MUC kept what it was sent, where <see cref="Backend.Archived"/> says it archives (Prosody's
    /// file is read; ejabberd's mnesia is not reachable from here, and its cost per delivery shows it writing).
    /// </summary>
    public async Task VerifyArchivedAsync(CancellationToken cancellationToken)
    {
        if (!Backend.Archived || Backend.Server != XmppServerKind.Prosody) return;
        foreach (var host in _servers)
            if (await ProsodyArchiveStore.CountAsync(host.Settings, cancellationToken) == 0)
                throw new InvalidOperationException($"{host.Domain}: muc_mam archived nothing (is lua-dbi-sqlite3 installed?)");
    }

    /// <summary>The host a client logs into: clients are spread round-robin over the hosts.</summary>
    internal XmppServer HostOf(int clientIndex) => _servers[clientIndex % _servers.Count];

    /// <param name="archived">Rooms keep a message archive (XEP-0313): the server's own MUC gets its archive module, as with
    /// <see cref="Backend.Archived"/>; Dmuc archives rooms by default.</param>
    /// <param name="nodeLogs">A folder for each node's whole output and, with <paramref name="managementPorts"/>, its metrics at the end
    /// (<c>--node-logs</c>); null: neither is kept.</param>
    /// <param name="managementPorts">The first host's node's management port, the next host's the next (<c>--management-ports</c>); null: none.
    /// Given by the operator: a port picked free here could be taken by a node's own remoting before the node binds it.</param>
    public static async Task<ServerUnderTest> StartAsync(Backend backend, string nodeExecutable, CancellationToken cancellationToken,
        bool archived = false, string? nodeLogs = null, int? managementPorts = null)
    {
        var server = new ServerUnderTest(backend, Directory.CreateTempSubdirectory("dmuc-loadtest-").FullName, archived || backend.Archived,
            nodeLogs, managementPorts);
        try
        {
            await server.StartProcessesAsync(nodeExecutable, cancellationToken);
            foreach (var host in server._servers) await server.WaitUntilMucAnswersAsync(host, cancellationToken);
            if (backend.Hosts > 1)
                foreach (var host in server._servers) await server.WaitUntilRoomsReachableAsync(host, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync(string nodeExecutable, CancellationToken cancellationToken)
    {
        var domains = Backend.HostDomains();
        // All ports from one call: ports picked in separate calls could come back the same.
        var ports = LoopbackPorts.PickFree(2 * domains.Count + 1);
        var clusterPort = ports[^1];
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        for (var host = 0; host < domains.Count; host++)
        {
            var settings = new XmppHostSettings(domains[host], MucDomain, Backend.Muc, ports[2 * host], ports[2 * host + 1], secret,
                Path.Combine(_workDirectory, domains[host]), _archived) { StreamAck = Backend.StreamAck, Delivered = Backend.Delivered, EjabberdMulticast = Backend.EjabberdMulticast };
            _servers.Add(await XmppServer.StartAsync(Backend.Server, settings, cancellationToken));
        }
        if (Backend.Muc != MucService.Dmuc) return;
        if (!File.Exists(nodeExecutable))
            throw new FileNotFoundException(
                $"No Dmuc node at {nodeExecutable}: build it (dotnet build -c Release src/Dmuc.Host) or pass --node PATH.");
        if (_nodeLogs is not null) Directory.CreateDirectory(_nodeLogs);
        for (var host = 0; host < _servers.Count; host++)
            _nodes.Add(StartNode(nodeExecutable, _servers[host].Settings, [.. ClusterArguments(host, clusterPort), .. MulticastArguments()],
                ManagementUrl(host) ?? "", _nodeLogs is null ? null : Path.Combine(_nodeLogs, $"node-{domains[host]}.log")));
    }

    /// <summary>XEP-0282 roles: none for a lone node; else the first host's node is the primary and the seed.</summary>
    private IEnumerable<string> ClusterArguments(int host, int primaryClusterPort)
    {
        if (Backend.Hosts == 1) return [];
        var domain = _servers[host].Domain;
        var credential = NodeCredentialArguments(NodeClaims.For("node-" + domain, [domain], host == 0 ? [MucDomain] : []));
        return host == 0
            ? ["--role", "Primary", "--host-domain", domain, "--cluster-port", primaryClusterPort.ToString(), .. credential]
            : ["--role", "Replica", "--host-domain", domain, "--seed", $"akka.ssl.tcp://dmuc@127.0.0.1:{primaryClusterPort}", .. credential];
    }

    /// <summary>
    /// The servers always offer multicast; the node decides whether to use it. The load checks no IQ's order, so
    /// ejabberd's mod_multicast (which may let an IQ answer overtake a broadcast) is measured too (ejabberd-dmuc-modmulticast).
    /// </summary>
    private IEnumerable<string> MulticastArguments() =>
        Backend.Multicast ? ["--Dmuc:Multicast:AllowUnordered", "true"] : ["--Dmuc:Multicast:Enabled", "false"];

    /// <summary>Nodes talk over mutual TLS: a throwaway authority for this run, and the node's certificate from it.</summary>
    private string[] NodeCredentialArguments(NodeClaims claims)
    {
        var folder = Path.Combine(_workDirectory, "tls");
        using var authority = CredentialFiles.EnsureAuthority(folder, "dmuc-loadtest authority", TimeSpan.FromDays(1));
        CredentialFiles.IssueNode(folder, authority, claims, TimeSpan.FromDays(1));
        return ["--tls-cert", CredentialFiles.CertificatePath(folder, claims.NodeName), "--tls-key", CredentialFiles.KeyPath(folder, claims.NodeName),
                "--tls-ca", CredentialFiles.CertificatePath(folder, CredentialFiles.AuthorityName)];
    }

    private string? ManagementUrl(int host) => _managementPorts is { } first ? $"http://127.0.0.1:{first + host}" : null;

    /// <param name="managementUrl">Empty: none (several nodes on one machine would all want the default port).</param>
    private static ChildProcess StartNode(string executable, XmppHostSettings host, IEnumerable<string> clusterArguments, string managementUrl,
        string? logPath)
    {
        var dataDirectory = Path.Combine(host.WorkDirectory, "dmuc-data");
        Directory.CreateDirectory(dataDirectory);
        return ChildProcess.Start(executable,
        [
            "--server", $"127.0.0.1:{host.ComponentPort}",
            "--domain", host.MucDomain,
            "--secret", host.ComponentSecret,
            "--data", dataDirectory,
            // Information-level logs per join would be measured as the node's work.
            "--Serilog:MinimumLevel:Default", "Warning",
            // The load is a few senders flooding rooms on purpose: the limits an operator wants would refuse most of it.
            "--Dmuc:Limits:OccupantStanzasPerSecond", "0",
            "--Dmuc:Limits:RoomCreationsPerMinute", "0",
            "--management-url", managementUrl,
            .. clusterArguments,
        ], host.WorkDirectory, logPath: logPath);
    }

    /// <summary>
    /// Asks the MUC domain for disco#info through <paramref name="host"/> until it answers: an XMPP server
    /// bounces the IQ while no component is connected, so a result means the path to the MUC works.
    /// </summary>
    private async Task WaitUntilMucAnswersAsync(XmppServer host, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        await using var probe = await ConnectProbeAsync(host, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            string answer;
            try
            {
                answer = await probe.RequestAsync(
                    $"<iq type='get' id='probe{attempt}' to='{MucDomain}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                    ProbeAnswerTimeout);
            }
            catch (TimeoutException)
            {
                answer = $"no answer within {ProbeAnswerTimeout.TotalSeconds} s";
            }
            if (answer.Contains("type='result'", StringComparison.Ordinal) || answer.Contains("type=\"result\"", StringComparison.Ordinal))
                return;
            ThrowIfNotReadyBy(deadline, $"{MucDomain} did not answer disco#info through {host.Domain}: {answer}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>
    /// A replica answers disco#info on its own, before the cluster has formed; only a join whose self-presence
    /// comes back shows that the replica reaches the primary and the primary routes back to the replica's host.
    /// Each attempt uses a fresh room: a replica room that found no primary stays split for a while.
    /// </summary>
    private async Task WaitUntilRoomsReachableAsync(XmppServer host, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            await using var probe = await ConnectProbeAsync(host, cancellationToken);
            probe.SendJoin($"ready{Interlocked.Increment(ref _probes)}@{MucDomain}");
            string failure;
            try
            {
                await probe.SelfPresence.WaitAsync(ProbeAnswerTimeout, cancellationToken);
                return;
            }
            catch (Exception error) when (error is IOException or TimeoutException)
            {
                failure = error.Message;
            }
            ThrowIfNotReadyBy(deadline, $"a user of {host.Domain} could not join a room: {failure}");
            await Task.Delay(500, cancellationToken);
        }
    }

    private Task<LoadClient> ConnectProbeAsync(XmppServer host, CancellationToken cancellationToken) =>
        LoadClient.ConnectAsync(host.ClientEndpoint, host.Domain, ProbeClientIndex + Interlocked.Increment(ref _probes), cancellationToken);

    private void ThrowIfNotReadyBy(DateTime deadline, string problem)
    {
        if (_nodes.Any(node => node.HasExited) || DateTime.UtcNow > deadline)
            throw new InvalidOperationException($"Not ready within {ReadyTimeout.TotalSeconds} s: {problem}\n{DescribeForFailure()}");
    }

    public CpuSample SampleCpu() => new(
        Sum(_servers.Select(server => server.Process)), Sum(_nodes),
        ProcessCpu.Read(Environment.ProcessId), ProcessCpu.ReadMachine(), DateTime.UtcNow);

    private static TimeSpan Sum(IEnumerable<ChildProcess> processes) =>
        processes.Aggregate(TimeSpan.Zero, (total, process) => total + process.CpuTime);

    /// <summary>Each node's metrics as it stops, beside its log (<c>--node-logs</c>): what it refused, dropped, delivered.</summary>
    private async Task SaveNodeMetricsAsync()
    {
        if (_nodeLogs is null || _managementPorts is null) return;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        for (var host = 0; host < _nodes.Count; host++)
        {
            var path = Path.Combine(_nodeLogs!, $"node-{_servers[host].Domain}.metrics");
            try
            {
                await File.WriteAllTextAsync(path, await http.GetStringAsync(ManagementUrl(host) + "/metrics"));
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
            {
                await File.WriteAllTextAsync(path, $"# not read: {error.Message}\n");
            }
        }
    }

    /// <summary>Console output of the servers and nodes: what is needed when something went wrong.</summary>
    public string DescribeForFailure() => string.Join('\n',
        _servers.Select(server => $"--- {server.Description} ---\n{server.Process.OutputTail()}")
            .Concat(_nodes.Select((node, host) => $"--- Dmuc node {_servers[host].Domain} ---\n{node.OutputTail()}"))
            .Append($"(work directory {_workDirectory})"));

    public async ValueTask DisposeAsync()
    {
        // Nodes first, so no XMPP server sees its component vanish mid-shutdown; replicas before the primary.
        await SaveNodeMetricsAsync();
        foreach (var node in Enumerable.Reverse(_nodes)) await node.DisposeAsync();
        foreach (var server in _servers) await server.DisposeAsync();
        try
        {
            Directory.Delete(_workDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

/// <summary>
/// CPU time used so far by the XMPP servers (all hosts summed), the Dmuc nodes (summed; zero when none runs),
/// the load tool itself and the whole machine; the machine's share that is none of these is other people's work
/// competing for the cores.
/// </summary>
public sealed record CpuSample(TimeSpan XmppServers, TimeSpan Nodes, TimeSpan LoadTool, TimeSpan Machine, DateTime TakenAt)
{
    public TimeSpan Others => Machine - XmppServers - Nodes - LoadTool;

    public CpuSample Since(CpuSample earlier) =>
        new(XmppServers - earlier.XmppServers, Nodes - earlier.Nodes, LoadTool - earlier.LoadTool, Machine - earlier.Machine, TakenAt);
}
