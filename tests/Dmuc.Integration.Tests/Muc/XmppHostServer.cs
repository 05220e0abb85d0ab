using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// One XMPP server (Prosody, ejabberd) serving one host of a test deployment: a private process on loopback ports of
/// its own, with config, data and log in a temp folder that goes when it stops.
/// </summary>
public abstract class XmppHostServer : IAsyncDisposable
{
    private readonly string _serverName;
    private readonly string _componentAuthenticatedLogLine;
    private readonly ServerLog _log;

    /// <param name="serverName">How failure messages name it.</param>
    /// <param name="componentAuthenticatedLogLine">What its log says when an external component's handshake succeeds.</param>
    protected XmppHostServer(string serverName, string workDirectory, string logPath, string componentAuthenticatedLogLine, ServerProcess process)
    {
        _serverName = serverName;
        _componentAuthenticatedLogLine = componentAuthenticatedLogLine;
        _log = new ServerLog(logPath);
        WorkDirectory = workDirectory;
        Process = process;
    }

    protected ServerProcess Process { get; set; }

    public string WorkDirectory { get; }

    public string LogPath => _log.Path;

    /// <summary>The XMPP host its users live on.</summary>
    public abstract string Domain { get; }

    /// <summary>Where test clients log in (c2s).</summary>
    public abstract XmppServerEndpoint ClientEndpoint { get; }

    /// <summary>Where an external MUC component connects (XEP-0114), and as which domain.</summary>
    public abstract ComponentEndpoint ComponentEndpoint { get; }

    /// <summary>Throws <see cref="ServerStartException"/> unless every port accepts connections within <paramref name="timeout"/>.</summary>
    protected async Task WaitUntilListeningAsync(IEnumerable<int> ports, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await Process.FirstPortNotListeningAsync(ports, timeout, cancellationToken) is { } port)
        {
            throw new ServerStartException(
                $"{_serverName} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds} s (exited: {Process.HasExited}).\n{DescribeForFailure()}");
        }
    }

    /// <summary>
    /// Waits until the server has accepted the external component's handshake more than
    /// <paramref name="handshakesBefore"/> times: pass <see cref="ComponentHandshakes"/> taken before a reconnect to
    /// wait for that reconnect.
    /// </summary>
    public async Task WaitForComponentAsync(TimeSpan timeout, CancellationToken cancellationToken = default, int handshakesBefore = 0)
    {
        if (!await _log.WaitForOccurrenceAsync(_componentAuthenticatedLogLine, handshakesBefore, timeout, cancellationToken))
        {
            var component = ComponentEndpoint;
            throw new TimeoutException(
                $"No external component authenticated with {_serverName} for {component.Domain} within {timeout.TotalSeconds} s " +
                $"(component port {component.Port}).\n{DescribeForFailure()}");
        }
    }

    /// <summary>How many times an external component has completed its handshake, according to the log.</summary>
    public int ComponentHandshakes() => _log.CountOccurrences(_componentAuthenticatedLogLine);

    /// <summary>Console output and the end of the log: what a developer needs when something went wrong.</summary>
    public string DescribeForFailure(int logLines = 40) =>
        $"--- {_serverName} console ---\n{Process.ConsoleOutput}--- last {logLines} lines of {LogPath} ---\n{_log.Tail(logLines)}";

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        TemporaryFolder.TryDelete(WorkDirectory);
        GC.SuppressFinalize(this);
    }
}

/// <summary>The server did not come up; a retry on other ports may succeed.</summary>
public sealed class ServerStartException(string message) : Exception(message);
