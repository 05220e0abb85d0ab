using Dmuc.Testing;
using System.Net;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// One XMPP server process (Prosody or ejabberd) serving one host on loopback, with a config generated into
/// its own folder: whatever the kind, it is started, probed for readiness and stopped the same way.
/// </summary>
internal sealed class XmppServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private XmppServer(XmppServerKind kind, XmppHostSettings settings, ChildProcess process)
    {
        Kind = kind;
        Settings = settings;
        Process = process;
    }

    public XmppServerKind Kind { get; }

    public XmppHostSettings Settings { get; }

    public ChildProcess Process { get; }

    public string Domain => Settings.Domain;

    public IPEndPoint ClientEndpoint => new(IPAddress.Loopback, Settings.ClientPort);

    public string Description => $"{Kind} {Domain}";

    public static async Task<XmppServer> StartAsync(XmppServerKind kind, XmppHostSettings settings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.WorkDirectory);
        var process = kind switch
        {
            XmppServerKind.Prosody => await LaunchProsodyAsync(settings, cancellationToken),
            XmppServerKind.Ejabberd => await LaunchEjabberdAsync(settings, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        var server = new XmppServer(kind, settings, process);
        try
        {
            await server.WaitForPortAsync(settings.ClientPort, cancellationToken);
            if (settings.Muc == MucService.Dmuc) await server.WaitForPortAsync(settings.ComponentPort, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task<ChildProcess> LaunchProsodyAsync(XmppHostSettings settings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(settings.WorkDirectory, "data"));
        var configPath = Path.Combine(settings.WorkDirectory, "prosody.cfg.lua");
        await File.WriteAllTextAsync(configPath, ProsodyConfig.Render(settings), cancellationToken);
        return ChildProcess.Start("/usr/bin/prosody", ["--config", configPath, "-F"], settings.WorkDirectory);
    }

    /// <summary>
    /// ejabberd in the foreground straight from erl, not through ejabberdctl or the system service: no -sname, so
    /// no epmd and no distribution port, and the PID is beam.smp itself (erl execs it), whose CPU time is read.
    /// </summary>
    private const string ErlangLibraries = "/usr/lib/x86_64-linux-gnu";

    private static async Task<ChildProcess> LaunchEjabberdAsync(XmppHostSettings settings, CancellationToken cancellationToken)
    {
        const string Erl = "/usr/bin/erl";
        if (!File.Exists(Erl))
            throw new FileNotFoundException("ejabberd is not installed: apt-get install -y --no-install-recommends ejabberd");
        var extauthPath = Path.Combine(settings.WorkDirectory, "accept-everyone.pl");
        await File.WriteAllTextAsync(extauthPath, EjabberdConfig.AcceptEveryoneScript, cancellationToken);
        var configPath = Path.Combine(settings.WorkDirectory, "ejabberd.yml");
        await File.WriteAllTextAsync(configPath, EjabberdConfig.Render(settings, $"/usr/bin/perl {extauthPath}"), cancellationToken);
        var moduleDirectory = Path.Combine(settings.WorkDirectory, "ebin");
        await EjabberdMulticast.CompileModuleAsync(Path.Combine(AppContext.BaseDirectory, "ejabberd"), moduleDirectory, ErlangLibraries,
            cancellationToken);
        var databaseDirectory = Path.Combine(settings.WorkDirectory, "db");
        Directory.CreateDirectory(databaseDirectory);
        Directory.CreateDirectory(Path.Combine(settings.WorkDirectory, "logs"));
        return ChildProcess.Start(Erl,
            // Messages waiting in a process's mailbox stay out of its heap (+hmqd off_heap), so a garbage collection
            // does not copy them. Behind Dmuc at saturation, mod_multicast (one process for the host) holds nearly
            // every message in flight, ~47 stanzas of 100 addresses each: its heap grew to ~1.2 M words, collected on
            // the dirty schedulers (docs/benchmarks.md, issue 11's ejabberd pass). Every ejabberd backend gets it.
            ["+K", "true", "+hmqd", "off_heap", "-pa", moduleDirectory, "-noinput", "-noshell", "-mnesia", "dir", $"\"{databaseDirectory}\"", "-s", "ejabberd"],
            settings.WorkDirectory,
            new Dictionary<string, string>
            {
                ["ERL_LIBS"] = ErlangLibraries,
                ["EJABBERD_CONFIG_PATH"] = configPath,
                ["EJABBERD_LOG_PATH"] = Path.Combine(settings.WorkDirectory, "logs", "ejabberd.log"),
            });
    }

    private async Task WaitForPortAsync(int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (!await LoopbackPorts.AcceptsConnectionsAsync(port, cancellationToken))
        {
            if (Process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException(
                    $"{Description} did not listen on 127.0.0.1:{port} (exited: {Process.HasExited}).\n{Process.OutputTail()}");
            await Task.Delay(20, cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
