using System.Security.Cryptography;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Testing;

namespace Dmuc.Integration.Tests.Ejabberd;

/// <summary>
/// One private ejabberd (Debian's 23.01) on loopback ports of its own, with config, Mnesia database and log in a
/// temp folder. It runs straight from erl, not through ejabberdctl or the system service: without -sname there is
/// no epmd and no distribution port, so several can run side by side. Starting one takes about two seconds.
/// </summary>
public sealed class EjabberdServer : XmppHostServer
{
    private const string ErlPath = "/usr/bin/erl";
    private const string ConfigFileName = "ejabberd.yml";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Where Debian puts ejabberd's Erlang applications (ebin of ejabberd-23.01 and its dependencies), if installed.</summary>
    private static readonly string? ErlangLibraries = FindErlangLibraries();

    /// <summary>deploy/ejabberd's mod_dmuc_multicast, built once for the test run (a test's ejabberd loads it from there).</summary>
    private static readonly Lazy<Task<string>> MulticastModule = new(BuildMulticastModuleAsync);

    private EjabberdServer(EjabberdOptions options, EjabberdPorts ports, string workDirectory, string logPath, string componentSecret,
        ServerProcess process)
        : base("ejabberd", workDirectory, logPath, $"Accepted external component handshake authentication for {options.MucDomain}", process)
    {
        Options = options;
        Ports = ports;
        ComponentSecret = componentSecret;
    }

    /// <summary>True when Debian's ejabberd package is installed; the ejabberd tests skip otherwise.</summary>
    public static bool IsInstalled => File.Exists(ErlPath) && ErlangLibraries is not null;

    public const string NotInstalledReason = "ejabberd is not installed (apt-get install -y --no-install-recommends ejabberd; .ci/run does)";

    public EjabberdOptions Options { get; }
    private EjabberdPorts Ports { get; }
    public string ComponentSecret { get; }

    public override string Domain => Options.Domain;

    public override XmppServerEndpoint ClientEndpoint => new("127.0.0.1", Ports.ClientToServer, Options.Domain);

    public override ComponentEndpoint ComponentEndpoint =>
        new("127.0.0.1", Ports.Component, Options.MucDomain, ComponentSecret, Options.ServiceAdmins);

    public static async Task<EjabberdServer> StartAsync(EjabberdOptions options, CancellationToken cancellationToken = default)
    {
        if (!IsInstalled) throw new InvalidOperationException(NotInstalledReason);

        var freePorts = FreeTcpPorts.Pick(2);
        var ports = new EjabberdPorts(ClientToServer: freePorts[0], Component: freePorts[1]);
        var workDirectory = Directory.CreateTempSubdirectory("dmuc-ejabberd-").FullName;
        var database = Directory.CreateDirectory(Path.Combine(workDirectory, "db")).FullName;
        var logPath = Path.Combine(Directory.CreateDirectory(Path.Combine(workDirectory, "logs")).FullName, "ejabberd.log");
        var componentSecret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var configPath = Path.Combine(workDirectory, ConfigFileName);
        await File.WriteAllTextAsync(configPath, EjabberdConfig.Render(options, ports, componentSecret), cancellationToken);

        // erl execs beam.smp: the process we hold is the server itself, and SIGTERM makes it stop cleanly (init:stop).
        var process = ServerProcess.Start(ErlPath,
            ["+K", "true", "-pa", await MulticastModule.Value, "-noinput", "-noshell", "-mnesia", "dir", $"\"{database}\"", "-s", "ejabberd"],
            workDirectory,
            new Dictionary<string, string>
            {
                ["ERL_LIBS"] = ErlangLibraries!,
                ["EJABBERD_CONFIG_PATH"] = configPath,
                ["EJABBERD_LOG_PATH"] = logPath,
            });
        var server = new EjabberdServer(options, ports, workDirectory, logPath, componentSecret, process);
        try
        {
            await server.WaitUntilListeningAsync([ports.ClientToServer, ports.Component], ReadyTimeout, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task<string> BuildMulticastModuleAsync()
    {
        var ebin = Directory.CreateTempSubdirectory("dmuc-ejabberd-module-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(ebin, recursive: true);
        await EjabberdMulticast.CompileModuleAsync(Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "ejabberd"), ebin, ErlangLibraries!);
        return ebin;
    }

    /// <summary>/usr/lib/&lt;multiarch triplet&gt;, the folder that holds ejabberd-&lt;version&gt;.</summary>
    private static string? FindErlangLibraries() =>
        Directory.Exists("/usr/lib")
            ? Directory.EnumerateDirectories("/usr/lib").FirstOrDefault(folder => Directory.EnumerateDirectories(folder, "ejabberd-*").Any())
            : null;
}
