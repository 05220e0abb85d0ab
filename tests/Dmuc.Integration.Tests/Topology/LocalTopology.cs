using System.Diagnostics;
using System.Text.Json;
using Dmuc.Cli;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;

namespace Dmuc.Integration.Tests.Topology;

/// <summary>
/// deploy/local/up.sh and down.sh driven from a test: its own ports and run folder (so a developer's topology
/// on the default ports is left alone), and the node binary the test project already built.
/// </summary>
public sealed class LocalTopology : IAsyncDisposable
{
    /// <summary>up.sh derives every port from one base: BASE+10i+2/3/7/9 for host i, PostgreSQL BASE+45, the failover node BASE+43/49.</summary>
    private const int PortsPerTopology = 50;
    /// <summary>Beyond up.sh's own readiness deadline (150 s), so that up.sh is the one to say what it waited for.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(4);
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly Dictionary<string, string> _environment;
    private readonly bool _keepRunDirectory;

    private LocalTopology(string runDirectory, Dictionary<string, string> environment, TopologyDescription description, string upOutput,
        bool keepRunDirectory)
    {
        RunDirectory = runDirectory;
        _environment = environment;
        Description = description;
        UpOutput = upOutput;
        _keepRunDirectory = keepRunDirectory;
    }

    public string RunDirectory { get; }
    public TopologyDescription Description { get; }

    /// <summary>What up.sh printed: the instructions for joining from a real client.</summary>
    public string UpOutput { get; }

    /// <param name="basePort">up.sh's DMUC_LOCAL_BASE_PORT; null for a free range.</param>
    /// <param name="runDirectory">up.sh's DMUC_LOCAL_RUN_DIR, which must not exist yet; null for a fresh temporary folder.
    /// One that is given is kept after <see cref="DisposeAsync"/> (its logs tell what happened).</param>
    /// <param name="arguments">up.sh's options (--failover, say).</param>
    public static async Task<LocalTopology> UpAsync(int? basePort = null, string? runDirectory = null, CancellationToken cancellationToken = default,
        params string[] arguments)
    {
        var keepRunDirectory = runDirectory is not null;
        if (runDirectory is not null && Path.Exists(runDirectory))
            throw new IOException($"{runDirectory} exists: a topology starts from an empty run folder");
        runDirectory = runDirectory is null ? Directory.CreateTempSubdirectory("dmuc-local-topology-").FullName : Directory.CreateDirectory(runDirectory).FullName;
        var environment = new Dictionary<string, string>
        {
            ["DMUC_LOCAL_BASE_PORT"] = (basePort ?? FreeTcpPorts.PickFreeRange(PortsPerTopology)).ToString(),
            ["DMUC_LOCAL_RUN_DIR"] = runDirectory,
            ["DMUC_NODE_BINARY"] = Path.Combine(AppContext.BaseDirectory, "dmuc-node"),
        };
        var upOutput = await RunScriptAsync("up.sh", environment, cancellationToken, arguments);
        await using var json = File.OpenRead(Path.Combine(runDirectory, "topology.json"));
        var description = await JsonSerializer.DeserializeAsync<TopologyDescription>(json, Json, cancellationToken)
            ?? throw new InvalidDataException("topology.json is empty");
        return new LocalTopology(runDirectory, environment, description, upOutput, keepRunDirectory);
    }

    public Task<string> DownAsync(CancellationToken cancellationToken = default) => RunScriptAsync("down.sh", _environment, cancellationToken);

    /// <summary>
    /// Every node log's warnings, errors and lifecycle lines (joins, leaves, downings, restarts), the newest
    /// <paramref name="perLog"/> of each: what a failing test prints so that a run on another machine says what happened.
    /// </summary>
    public string NodeLogDigest(int perLog = 40)
    {
        var digest = new System.Text.StringBuilder();
        foreach (var log in Directory.EnumerateFiles(RunDirectory, "dmuc-node.log", SearchOption.AllDirectories).Order())
        {
            var lines = File.ReadLines(log).Where(line => line.Contains(" WRN] ") || line.Contains(" ERR] ") || line.Contains(" FTL] ")
                || line.Contains("Starting up") || line.Contains("is JOINING") || line.Contains("Welcome from") || line.Contains("Leader is")
                || line.Contains("Marking node") || line.Contains("Downing") || line.Contains("is removed")).TakeLast(perLog);
            digest.AppendLine($"--- {Path.GetRelativePath(RunDirectory, log)}");
            foreach (var line in lines) digest.AppendLine(line.Length > 300 ? line[..300] : line);
        }
        return digest.ToString();
    }

    /// <summary>kill -9 of one process up.sh started (crash.sh): <see cref="ProsodyName"/> or a node's name.</summary>
    public Task<string> CrashAsync(string processName, CancellationToken cancellationToken = default) =>
        RunScriptAsync("crash.sh", _environment, cancellationToken, processName);

    /// <summary>Starts a crashed process again with the command line up.sh gave it (restart.sh).</summary>
    public Task<string> RestartAsync(string processName, CancellationToken cancellationToken = default) =>
        RunScriptAsync("restart.sh", _environment, cancellationToken, processName);

    /// <summary>The name up.sh gives a host's Prosody in started.pids.</summary>
    public static string ProsodyName(TopologyHost host) => "prosody-" + host.Domain;

    public XmppServerEndpoint ClientEndpoint(TopologyHost host) => new(host.C2s.Host, host.C2s.Port, host.Domain);

    /// <summary>Whether a process up.sh started still runs. A zombie (state Z) has exited; it only waits for its parent to collect the exit code.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>With up.sh --failover: the primary host's two primary-capable nodes, the oldest (which holds its stream) first.</summary>
    public IReadOnlyList<DmucNodeProcess> PrimaryNodes => [Description.Hosts[0].Node, Description.FailoverNode!];

    /// <summary>The node whose shard region holds the room, as the management API of the first of <paramref name="primaries"/> lists it.</summary>
    public async Task<DmucNodeProcess> NodeHoldingAsync(IReadOnlyList<DmucNodeProcess> primaries, string room)
    {
        using var management = new ManagementClient(new Uri(primaries[0].ManagementAddress!), token: null);
        var rooms = await management.GetAsync<RoomsView>(ManagementApi.RoomsPage(after: null, ManagementApi.MaxRoomsPerPage), CancellationToken.None);
        var node = rooms.Rooms.Single(listed => listed.Room == room).Node;
        return primaries.SingleOrDefault(primary => primary.ClusterAddress == node)
               ?? throw new InvalidOperationException($"{room} is on {node}, none of {string.Join(", ", primaries.Select(p => p.ClusterAddress))}");
    }

    /// <summary>Runs a deploy/local script; a non-zero exit fails with everything it printed.</summary>
    private static async Task<string> RunScriptAsync(string script, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken,
        params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "local", script) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {script}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {ScriptTimeout.TotalMinutes} min; it printed:\n{await output}{await errors}");
        }
        var printed = await output + await errors;
        return process.ExitCode == 0 ? printed : throw new InvalidOperationException($"{script} exited with {process.ExitCode}:\n{printed}");
    }

    /// <summary>Runs down.sh (it is idempotent) and removes the run folder unless it was given.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await DownAsync();
        }
        finally
        {
            if (!_keepRunDirectory) Directory.Delete(RunDirectory, recursive: true);
        }
    }
}

/// <summary>deploy/local/run/topology.json.</summary>
/// <param name="FailoverNode">With up.sh --failover: the primary host's second primary-capable node.</param>
public sealed record TopologyDescription(string MucDomain, string Room, string Journal, IReadOnlyList<TopologyHost> Hosts,
    DmucNodeProcess? FailoverNode = null)
{
    public TopologyHost Host(string domain) => Hosts.Single(host => host.Domain == domain);
}

public sealed record TopologyHost(string Domain, ClientPort C2s, IReadOnlyList<TopologyUser> Users, ProsodyProcess Prosody, DmucNodeProcess Node);

public sealed record ClientPort(string Host, int Port, bool Tls);

public sealed record TopologyUser(string Jid, string Password);

public sealed record ProsodyProcess(int Pid, int ComponentPort, string Log);

public sealed record DmucNodeProcess(string Name, string Role, int Pid, string ClusterAddress, string? ManagementAddress, string Log);
