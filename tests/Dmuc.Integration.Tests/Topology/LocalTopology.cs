using System.Diagnostics;
using System.Text.Json;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Topology;

/// <summary>
/// deploy/local/up.sh and down.sh driven from a test: its own ports and run folder (so a developer's topology
/// on the default ports is left alone), and the node binary the test project already built.
/// </summary>
public sealed class LocalTopology : IAsyncDisposable
{
    /// <summary>up.sh derives every port from one base: BASE+10i+2/3/7 for host i, PostgreSQL BASE+45.</summary>
    private const int PortsPerTopology = 50;
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly Dictionary<string, string> _environment;
    // Nodes this test restarted: their process now, and the command line up.sh started them with.
    private readonly Dictionary<string, int> _pids = new();
    private readonly Dictionary<string, string[]> _commandLines = new();

    private LocalTopology(string runDirectory, Dictionary<string, string> environment, TopologyDescription description, string upOutput)
    {
        RunDirectory = runDirectory;
        _environment = environment;
        Description = description;
        UpOutput = upOutput;
    }

    public string RunDirectory { get; }
    public TopologyDescription Description { get; }

    /// <summary>What up.sh printed: the instructions for joining from a real client.</summary>
    public string UpOutput { get; }

    public static async Task<LocalTopology> UpAsync(CancellationToken cancellationToken = default)
    {
        var runDirectory = Directory.CreateTempSubdirectory("dmuc-local-topology-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["DMUC_LOCAL_BASE_PORT"] = FreeTcpPorts.PickFreeRange(PortsPerTopology).ToString(),
            ["DMUC_LOCAL_RUN_DIR"] = runDirectory,
            ["DMUC_NODE_BINARY"] = Path.Combine(AppContext.BaseDirectory, "dmuc-node"),
        };
        var upOutput = await RunScriptAsync("up.sh", environment, cancellationToken);
        await using var json = File.OpenRead(Path.Combine(runDirectory, "topology.json"));
        var description = await JsonSerializer.DeserializeAsync<TopologyDescription>(json, Json, cancellationToken)
            ?? throw new InvalidDataException("topology.json is empty");
        return new LocalTopology(runDirectory, environment, description, upOutput);
    }

    public Task<string> DownAsync(CancellationToken cancellationToken = default) => RunScriptAsync("down.sh", _environment, cancellationToken);

    /// <summary>
    /// Kills the node of <paramref name="domain"/> as a crash would (SIGKILL: no goodbye to its occupants, nothing flushed beyond
    /// what its journal acknowledged, no leaving the cluster). <see cref="StartNodeAgainAsync"/> starts it again as up.sh did.
    /// </summary>
    public async Task KillNodeAsync(string domain)
    {
        var pid = NodePid(domain);
        _commandLines[domain] = (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).TrimEnd('\0').Split('\0');
        using var node = Process.GetProcessById(pid);
        node.Kill();
        await node.WaitForExitAsync();
    }

    /// <summary>
    /// Starts the node <see cref="KillNodeAsync"/> killed with the same command line (same ports, data, certificate), logging
    /// to the same file, and records it in started.pids so that down.sh stops it.
    /// </summary>
    public async Task StartNodeAgainAsync(string domain)
    {
        var commandLine = _commandLines[domain];
        var start = new ProcessStartInfo("setsid") { ArgumentList = { "bash", "-c", "exec \"$@\" >>\"$NODE_LOG\" 2>&1 </dev/null", "node" } };
        foreach (var argument in commandLine) start.ArgumentList.Add(argument);
        start.Environment["NODE_LOG"] = Description.Host(domain).Node.Log;
        using var node = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {domain}'s node again");
        _pids[domain] = node.Id;
        await File.AppendAllTextAsync(Path.Combine(RunDirectory, "started.pids"), $"{node.Id} {Description.Host(domain).Node.Name}\n");
    }

    private int NodePid(string domain) => _pids.TryGetValue(domain, out var pid) ? pid : Description.Host(domain).Node.Pid;

    public XmppServerEndpoint ClientEndpoint(TopologyHost host) => new(host.C2s.Host, host.C2s.Port, host.Domain);

    /// <summary>Runs a deploy/local script; a non-zero exit fails with everything it printed.</summary>
    private static async Task<string> RunScriptAsync(string script, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "local", script) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
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
            throw new TimeoutException($"{script} did not finish within {ScriptTimeout.TotalMinutes} min");
        }
        var printed = await output + await errors;
        return process.ExitCode == 0 ? printed : throw new InvalidOperationException($"{script} exited with {process.ExitCode}:\n{printed}");
    }

    /// <summary>Runs down.sh (it is idempotent) and removes the run folder.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await DownAsync();
        }
        finally
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
    }
}

/// <summary>deploy/local/run/topology.json.</summary>
public sealed record TopologyDescription(string MucDomain, string Room, string Journal, IReadOnlyList<TopologyHost> Hosts)
{
    public TopologyHost Host(string domain) => Hosts.Single(host => host.Domain == domain);
}

public sealed record TopologyHost(string Domain, ClientPort C2s, IReadOnlyList<TopologyUser> Users, ProsodyProcess Prosody, DmucNodeProcess Node);

public sealed record ClientPort(string Host, int Port, bool Tls);

public sealed record TopologyUser(string Jid, string Password);

public sealed record ProsodyProcess(int Pid, int ComponentPort, string Log);

public sealed record DmucNodeProcess(string Name, string Role, int Pid, string ClusterAddress, string? ManagementAddress, string Log);
