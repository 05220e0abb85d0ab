using System.Net;
using System.Security.Cryptography;
using Dmuc.LoadTest.Client;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// A private Prosody on free loopback ports, serving the MUC domain itself or through a Dmuc node that runs
/// as a separate process, so the CPU time of each can be read apart.
/// </summary>
public sealed class ServerUnderTest : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private const int ProbeClientIndex = 999_999;

    private readonly ChildProcess _prosody;
    private readonly ChildProcess? _node;
    private readonly string _workDirectory;

    private ServerUnderTest(Backend backend, int clientPort, string workDirectory, ChildProcess prosody, ChildProcess? node)
    {
        Backend = backend;
        ClientEndpoint = new IPEndPoint(IPAddress.Loopback, clientPort);
        _workDirectory = workDirectory;
        _prosody = prosody;
        _node = node;
    }

    public Backend Backend { get; }

    public IPEndPoint ClientEndpoint { get; }

    public string Domain => ProsodyConfig.Domain;

    public string MucDomain => ProsodyConfig.MucDomain;

    public static async Task<ServerUnderTest> StartAsync(Backend backend, string nodeExecutable, CancellationToken cancellationToken)
    {
        var ports = LoopbackPorts.PickFree(2);
        var (clientPort, componentPort) = (ports[0], ports[1]);
        var workDirectory = Directory.CreateTempSubdirectory("dmuc-loadtest-").FullName;
        Directory.CreateDirectory(Path.Combine(workDirectory, "data"));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var configPath = Path.Combine(workDirectory, "prosody.cfg.lua");
        await File.WriteAllTextAsync(configPath,
            ProsodyConfig.Render(backend, clientPort, componentPort, workDirectory, secret), cancellationToken);

        var prosody = ChildProcess.Start("/usr/bin/prosody", ["--config", configPath, "-F"], workDirectory);
        ChildProcess? node = null;
        var server = new ServerUnderTest(backend, clientPort, workDirectory, prosody, null);
        try
        {
            await WaitForPortAsync(prosody, "Prosody", clientPort, cancellationToken);
            if (backend == Backend.Dmuc)
            {
                await WaitForPortAsync(prosody, "Prosody", componentPort, cancellationToken);
                node = StartNode(nodeExecutable, componentPort, secret, workDirectory);
                server = new ServerUnderTest(backend, clientPort, workDirectory, prosody, node);
            }
            await server.WaitUntilMucAnswersAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static ChildProcess StartNode(string executable, int componentPort, string secret, string workDirectory)
    {
        if (!File.Exists(executable))
            throw new FileNotFoundException(
                $"No Dmuc node at {executable}: build it (dotnet build -c Release src/Dmuc.Host) or pass --node PATH.");
        var dataDirectory = Path.Combine(workDirectory, "dmuc-data");
        Directory.CreateDirectory(dataDirectory);
        return ChildProcess.Start(executable,
        [
            "--server", $"127.0.0.1:{componentPort}",
            "--domain", ProsodyConfig.MucDomain,
            "--secret", secret,
            "--data", dataDirectory,
            // Information-level logs per join would be measured as the node's work.
            "--Serilog:MinimumLevel:Default", "Warning",
        ], workDirectory);
    }

    private static async Task WaitForPortAsync(ChildProcess process, string name, int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (!await LoopbackPorts.AcceptsConnectionsAsync(port, cancellationToken))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException(
                    $"{name} did not listen on 127.0.0.1:{port} (exited: {process.HasExited}).\n{process.OutputTail()}");
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>
    /// Asks the MUC domain for disco#info until it answers: Prosody bounces the IQ while no component is
    /// connected, so a result means the whole path works.
    /// </summary>
    private async Task WaitUntilMucAnswersAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        await using var probe = await LoadClient.ConnectAsync(ClientEndpoint, Domain, ProbeClientIndex, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var answer = await probe.RequestAsync(
                $"<iq type='get' id='probe{attempt}' to='{MucDomain}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                TimeSpan.FromSeconds(10));
            if (answer.Contains("type='result'", StringComparison.Ordinal)) return;
            if (_node is { HasExited: true } || DateTime.UtcNow > deadline)
                throw new InvalidOperationException(
                    $"{MucDomain} did not answer disco#info within {ReadyTimeout.TotalSeconds} s: {answer}\n{_node?.OutputTail()}");
            await Task.Delay(200, cancellationToken);
        }
    }

    public CpuSample SampleCpu() => new(_prosody.CpuTime, _node?.CpuTime ?? TimeSpan.Zero,
        ProcessCpu.Read(Environment.ProcessId), ProcessCpu.ReadMachine(), DateTime.UtcNow);

    /// <summary>Console output of the servers: what is needed when something went wrong.</summary>
    public string DescribeForFailure() =>
        $"--- Prosody ---\n{_prosody.OutputTail()}\n--- Dmuc node ---\n{_node?.OutputTail()}\n(work directory {_workDirectory})";

    public async ValueTask DisposeAsync()
    {
        // The node first, so Prosody does not see its component vanish mid-shutdown.
        if (_node is not null) await _node.DisposeAsync();
        await _prosody.DisposeAsync();
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
/// CPU time used so far by Prosody, the Dmuc node (zero when none runs), the load tool itself and the whole
/// machine; the machine's share that is none of these is other people's work competing for the two cores.
/// </summary>
public sealed record CpuSample(TimeSpan Prosody, TimeSpan Node, TimeSpan LoadTool, TimeSpan Machine, DateTime TakenAt)
{
    public TimeSpan Others => Machine - Prosody - Node - LoadTool;

    public CpuSample Since(CpuSample earlier) =>
        new(Prosody - earlier.Prosody, Node - earlier.Node, LoadTool - earlier.LoadTool, Machine - earlier.Machine, TakenAt);
}
