using Dmuc.Integration.Tests.Infrastructure;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// A Dmuc node run as its own process (<c>dotnet dmuc-node.dll</c>) on a data directory that outlives it, so that a
/// test can kill it as a crash would (SIGKILL: its rooms tell nobody, its component stream just breaks) and start it
/// again on the same journal and component endpoint.
/// </summary>
/// <param name="settings">Dmuc:* settings beyond those that connect it to its endpoint (a replica's place in a cluster, say).</param>
public sealed class DmucNodeProcess(IReadOnlyDictionary<string, string?>? settings = null) : IAsyncDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("dmuc-process-").FullName;
    private ComponentEndpoint? _endpoint;
    private ServerProcess? _process;

    /// <summary>For <see cref="MucTestEnvironment.StartAsync"/>: starts the first process; the environment stops the last.</summary>
    public MucUnderTest Muc => MucUnderTest.ExternalComponent("Dmuc as a process", (endpoint, _) =>
    {
        _endpoint = endpoint;
        Start();
        return Task.FromResult(AsyncDisposable.Create(StopAsync));
    });

    /// <summary>What the node printed, for a failure report.</summary>
    public string ConsoleOutput => _process?.ConsoleOutput ?? "";

    /// <summary>The node's data directory, where it may also keep its credentials.</summary>
    public string DataDirectory => _dataDirectory;

    /// <summary>Starts the node as the component of <paramref name="endpoint"/>.</summary>
    public void Start(ComponentEndpoint endpoint)
    {
        _endpoint = endpoint;
        Start();
    }

    public void Start()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("The node is already running.");
        var endpoint = _endpoint ?? throw new InvalidOperationException("Start the environment first.");
        var arguments = RestartableDmucNode.Settings(endpoint, _dataDirectory).Concat(settings ?? new Dictionary<string, string?>())
            .Select(setting => $"--{setting.Key}={setting.Value}");
        _process = ServerProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "dmuc-node.dll"), .. arguments], _dataDirectory);
    }

    /// <summary>SIGKILL: no 332 to anyone, nothing flushed beyond what the journal already acknowledged.</summary>
    public Task KillAsync() => _process?.KillAsync() ?? Task.CompletedTask;

    private async ValueTask StopAsync()
    {
        if (_process is { } process) await process.DisposeAsync();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}
