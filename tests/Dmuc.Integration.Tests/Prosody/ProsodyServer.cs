using System.Security.Cryptography;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Prosody;

/// <summary>
/// One private Prosody process on loopback ports of its own, with config, data and log in a temp folder.
/// Starting one takes well under a second, so tests that need a clean state simply start another.
/// </summary>
public sealed class ProsodyServer : XmppHostServer
{
    public const string LogFileName = "prosody.log";
    private const string ConfigFileName = "prosody.cfg.lua";
    private const string ExecutablePath = "/usr/bin/prosody";
    private const string ComponentAuthenticatedLogLine = "External component successfully authenticated";
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);

    private ProsodyServer(ProsodyOptions options, ProsodyPorts ports, string workDirectory, string componentSecret, ServerProcess process)
        : base("Prosody", workDirectory, Path.Combine(workDirectory, LogFileName), ComponentAuthenticatedLogLine, process)
    {
        Options = options;
        ClientPort = ports.ClientToServer;
        ComponentPort = ports.Component;
        ComponentSecret = componentSecret;
    }

    public ProsodyOptions Options { get; }
    public int ClientPort { get; }
    public int ComponentPort { get; }
    public string ComponentSecret { get; }

    public override string Domain => Options.Domain;

    public override XmppServerEndpoint ClientEndpoint => new("127.0.0.1", ClientPort, Options.Domain);

    public override ComponentEndpoint ComponentEndpoint =>
        new("127.0.0.1", ComponentPort, Options.MucDomain, ComponentSecret, Options.ServiceAdmins);

    private int[] ListeningPorts => Options.MucHosting == MucHosting.ExternalComponent ? [ClientPort, ComponentPort] : [ClientPort];

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
            catch (ServerStartException) when (attempt < StartAttempts)
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

        var process = ServerProcess.Start(ExecutablePath, ["--config", configPath, "-F"], workDirectory);
        var server = new ProsodyServer(options, ports, workDirectory, componentSecret, process);
        try
        {
            await server.WaitUntilListeningAsync(server.ListeningPorts, ReadyTimeout, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Kills Prosody without warning (SIGKILL: no stream closes, no unavailable presence) and starts it again
    /// with the same config, ports and log; every connection, client or component, has to come back by itself.
    /// </summary>
    public async Task KillAndRestartAsync(CancellationToken cancellationToken = default)
    {
        Process = await Process.KillAndStartAgainAsync();
        await WaitUntilListeningAsync(ListeningPorts, ReadyTimeout, cancellationToken);
    }
}
