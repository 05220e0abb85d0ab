using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Prosody;

/// <summary>
/// One private Prosody process on loopback ports of its own, with config, data and log in a temp folder.
/// Starting one takes well under a second, so tests that need a clean state simply start another.
/// </summary>
public sealed class ProsodyServer : IAsyncDisposable
{
    public const string LogFileName = "prosody.log";
    private const string ConfigFileName = "prosody.cfg.lua";
    private const string ExecutablePath = "/usr/bin/prosody";
    private const string ComponentAuthenticatedLogLine = "External component successfully authenticated";
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly StringBuilder _consoleOutput;
    private Process _process;

    private ProsodyServer(ProsodyOptions options, ProsodyPorts ports, string workDirectory, string componentSecret,
        Process process, StringBuilder consoleOutput)
    {
        Options = options;
        ClientPort = ports.ClientToServer;
        ComponentPort = ports.Component;
        WorkDirectory = workDirectory;
        ComponentSecret = componentSecret;
        _process = process;
        _consoleOutput = consoleOutput;
    }

    public ProsodyOptions Options { get; }
    public int ClientPort { get; }
    public int ComponentPort { get; }
    public string ComponentSecret { get; }
    public string WorkDirectory { get; }
    public string LogPath => Path.Combine(WorkDirectory, LogFileName);

    /// <summary>Where test clients log in (c2s).</summary>
    public XmppServerEndpoint ClientEndpoint => new("127.0.0.1", ClientPort, Options.Domain);

    /// <summary>Where an external MUC component connects (XEP-0114), and as which domain.</summary>
    public ComponentEndpoint ComponentEndpoint =>
        new("127.0.0.1", ComponentPort, Options.MucDomain, ComponentSecret, Options.ServiceAdmins);

    public static async Task<ProsodyServer> StartAsync(ProsodyOptions options, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Prosody is not installed ({ExecutablePath} is missing); the integration tests need it: apt-get install prosody");
        }

        // A freshly picked port can be taken by someone else before Prosody binds it; a new pair usually fixes that.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(options, cancellationToken);
            }
            catch (ProsodyStartException) when (attempt < StartAttempts)
            {
            }
        }
    }

    private static async Task<ProsodyServer> StartOnceAsync(ProsodyOptions options, CancellationToken cancellationToken)
    {
        var freePorts = FreeTcpPorts.Pick(2);
        var ports = new ProsodyPorts(ClientToServer: freePorts[0], Component: freePorts[1]);
        var workDirectory = Directory.CreateTempSubdirectory("dmuc-prosody-").FullName;
        Directory.CreateDirectory(Path.Combine(workDirectory, "data"));
        var componentSecret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var configPath = Path.Combine(workDirectory, ConfigFileName);
        await File.WriteAllTextAsync(configPath, ProsodyConfig.Render(options, ports, workDirectory, componentSecret), cancellationToken);

        var consoleOutput = new StringBuilder();
        var process = Launch(configPath, workDirectory, consoleOutput);
        var server = new ProsodyServer(options, ports, workDirectory, componentSecret, process, consoleOutput);
        try
        {
            await server.WaitUntilListeningAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Process Launch(string configPath, string workDirectory, StringBuilder consoleOutput)
    {
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(ExecutablePath)
            {
                ArgumentList = { "--config", configPath, "-F" },
                WorkingDirectory = workDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        process.OutputDataReceived += (_, e) => AppendLine(consoleOutput, e.Data);
        process.ErrorDataReceived += (_, e) => AppendLine(consoleOutput, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Kills Prosody without warning (SIGKILL: no stream closes, no unavailable presence) and starts it again
    /// with the same config, ports and log; every connection, client or component, has to come back by itself.
    /// </summary>
    public async Task KillAndRestartAsync(CancellationToken cancellationToken = default)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(cancellationToken);
        _process.Dispose();
        _process = Launch(Path.Combine(WorkDirectory, ConfigFileName), WorkDirectory, _consoleOutput);
        await WaitUntilListeningAsync(cancellationToken);
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        int[] ports = Options.MucHosting == MucHosting.ExternalComponent ? [ClientPort, ComponentPort] : [ClientPort];
        foreach (var port in ports)
        {
            while (!await FreeTcpPorts.AcceptsConnectionsAsync(port, cancellationToken))
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new ProsodyStartException(
                        $"Prosody did not listen on 127.0.0.1:{port} within {ReadyTimeout.TotalSeconds} s " +
                        $"(exited: {_process.HasExited}).\n{DescribeForFailure()}");
                }
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Waits until Prosody has accepted the external component's handshake (it logs that at info level) more
    /// than <paramref name="handshakesBefore"/> times: pass <see cref="ComponentHandshakes"/> taken before a
    /// reconnect to wait for that reconnect.
    /// </summary>
    public async Task WaitForComponentAsync(TimeSpan timeout, CancellationToken cancellationToken = default, int handshakesBefore = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ComponentHandshakes() <= handshakesBefore)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"No external component authenticated with Prosody for {Options.MucDomain} within {timeout.TotalSeconds} s " +
                    $"(component port {ComponentPort}).\n{DescribeForFailure()}");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>How many times an external component has completed its handshake, according to the log.</summary>
    public int ComponentHandshakes()
    {
        var log = ReadLog();
        var count = 0;
        for (var at = log.IndexOf(ComponentAuthenticatedLogLine, StringComparison.Ordinal); at >= 0;
             at = log.IndexOf(ComponentAuthenticatedLogLine, at + 1, StringComparison.Ordinal))
            count++;
        return count;
    }

    public string ReadLog()
    {
        try
        {
            // Prosody keeps the file open for writing; share it so we can read along.
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
    }

    /// <summary>Console output and the end of the log: what a developer needs when something went wrong.</summary>
    public string DescribeForFailure(int logLines = 40)
    {
        var logTail = ReadLog().Split('\n').TakeLast(logLines);
        string console;
        lock (_consoleOutput)
        {
            console = _consoleOutput.ToString();
        }
        return $"--- Prosody console ---\n{console}--- last {logLines} lines of {LogPath} ---\n{string.Join('\n', logTail)}";
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = SendSigterm(_process.Id, Sigterm);
            using var stopTimeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(stopTimeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        TryDeleteWorkDirectory();
    }

    private void TryDeleteWorkDirectory()
    {
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Leftovers in /tmp are harmless; failing a test over them is not.
        }
    }

    private static void AppendLine(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private const int Sigterm = 15;

    // Process.Kill only sends SIGKILL; Prosody should get the chance to shut down cleanly.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSigterm(int pid, int signal);

    private sealed class ProsodyStartException(string message) : Exception(message);
}
