using System.Diagnostics;
using System.Text;
using Dmuc.Testing;

namespace Dmuc.Integration.Tests.Infrastructure;

/// <summary>
/// An XMPP server (Prosody, ejabberd) the tests run as a child process: its console output is kept for failure
/// reports, and it is stopped with SIGTERM so it can shut down cleanly (SIGKILL if that takes too long).
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly StringBuilder _consoleOutput;

    private ServerProcess(Process process, StringBuilder consoleOutput)
    {
        _process = process;
        _consoleOutput = consoleOutput;
    }

    public bool HasExited => _process.HasExited;

    public string ConsoleOutput
    {
        get
        {
            lock (_consoleOutput)
            {
                return _consoleOutput.ToString();
            }
        }
    }

    public static ServerProcess Start(string executable, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null) =>
        Start(executable, arguments, workingDirectory, environment, new StringBuilder());

    private static ServerProcess Start(string executable, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment, StringBuilder output)
    {
        var process = ChildServer.Start(executable, arguments, workingDirectory, environment, line => AppendLine(output, line));
        return new ServerProcess(process, output);
    }

    /// <summary>
    /// Waits until every port accepts connections; returns the first that did not within <paramref name="timeout"/>
    /// or before the process exited, or null when all of them do.
    /// </summary>
    public async Task<int?> FirstPortNotListeningAsync(IEnumerable<int> ports, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var port in ports)
        {
            while (!await FreeTcpPorts.AcceptsConnectionsAsync(port, cancellationToken))
            {
                if (_process.HasExited || DateTime.UtcNow > deadline) return port;
                await Task.Delay(20, cancellationToken);
            }
        }
        return null;
    }

    /// <summary>
    /// Kills the server without warning (SIGKILL: no stream closes, no unavailable presence) and starts the same
    /// command again, writing to the same console output.
    /// </summary>
    public async Task<ServerProcess> KillAndStartAgainAsync()
    {
        var startInfo = _process.StartInfo;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        var environment = startInfo.Environment.Where(variable => variable.Value is not null)
            .ToDictionary(variable => variable.Key, variable => variable.Value!);
        return Start(startInfo.FileName, startInfo.ArgumentList, startInfo.WorkingDirectory, environment, _consoleOutput);
    }

    /// <summary>Kills the process without warning (SIGKILL), as a crash would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await ChildServer.StopAsync(_process, StopTimeout);
        _process.Dispose();
    }

    private static void AppendLine(StringBuilder output, string line)
    {
        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
