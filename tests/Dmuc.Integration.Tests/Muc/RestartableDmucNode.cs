using Akka.Actor;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// A Dmuc node whose data directory (its SQLite journal) outlives it: a test can stop the node and start a new
/// one on the same journal and component endpoint, as an operator restarting the service would.
/// </summary>
public sealed class RestartableDmucNode : IAsyncDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("dmuc-restartable-").FullName;
    private ComponentEndpoint? _endpoint;
    private IHost? _node;

    /// <summary>For <see cref="MucTestEnvironment.StartAsync"/>: starts the first node; the environment stops the last.</summary>
    public MucUnderTest Muc => MucUnderTest.ExternalComponent("Dmuc with a kept data directory", StartFirstAsync);

    private async Task<IAsyncDisposable> StartFirstAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken)
    {
        _endpoint = endpoint;
        await StartAsync(cancellationToken);
        return AsyncDisposable.Create(StopAsync);
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_node is not null) throw new InvalidOperationException("The node is already running.");
        var endpoint = _endpoint ?? throw new InvalidOperationException("Start the environment first.");
        var node = DmucNode.Build([], config => config.AddInMemoryCollection(Settings(endpoint, _dataDirectory)));
        await node.StartAsync(cancellationToken);
        _node = node;
    }

    /// <summary>Stops the node the way the host does on SIGTERM: occupants get status 332, then the stream closes.</summary>
    public async ValueTask StopAsync()
    {
        if (_node is not { } node) return;
        _node = null;
        await node.StopAsync();
        node.Dispose();
    }

    /// <summary>Stops the node as its actor system's shutdown for <paramref name="reason"/> does (Akka.Remote's, say).</summary>
    public async ValueTask ShutDownAsync(CoordinatedShutdown.Reason reason)
    {
        if (_node is not { } node) return;
        await CoordinatedShutdown.Get(node.Services.GetRequiredService<ActorSystem>()).Run(reason);
        await StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    /// <summary>The configuration of a node that serves <paramref name="endpoint"/>'s domain and keeps its data in <paramref name="dataDirectory"/>.</summary>
    public static Dictionary<string, string?> Settings(ComponentEndpoint endpoint, string dataDirectory)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Dmuc:Server"] = $"{endpoint.Host}:{endpoint.Port}",
            ["Dmuc:Domain"] = endpoint.Domain,
            ["Dmuc:Secret"] = endpoint.Secret,
            ["Dmuc:Data"] = dataDirectory,
            // Off: the default port belongs to a node an operator runs on this machine.
            ["Dmuc:Management:Url"] = "",
        };
        for (var i = 0; i < endpoint.ServiceAdmins.Count; i++)
            settings[$"Dmuc:Admins:{i}"] = endpoint.ServiceAdmins[i];
        return settings;
    }
}
