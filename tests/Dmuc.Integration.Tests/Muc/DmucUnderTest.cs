using Dmuc.Actors.Replication;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Prosody;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>Dmuc as the MUC under test: a Dmuc node connected to Prosody as the conference.localhost component.</summary>
public static class DmucUnderTest
{
    /// <summary>The host of the primary in <see cref="Replicated"/>: its own Prosody, which no test client uses.</summary>
    public const string PrimaryHost = "avalon.localhost";

    /// <summary>One node that is the primary of every room.</summary>
    public static MucUnderTest Muc { get; } = MucUnderTest.ExternalComponent("Dmuc", StartNodeAsync);

    /// <summary>
    /// The clients' Prosody is served by a REPLICA node; the rooms' primary is a second node behind a second
    /// Prosody (host avalon.localhost). Every stanza a client sends crosses the cluster to the primary and every
    /// stanza it receives comes back in a replica batch: a user must not be able to tell (XEP-0282 §2).
    /// </summary>
    public static MucUnderTest Replicated { get; } = MucUnderTest.ExternalComponent("Dmuc replica", StartReplicatedAsync);

    /// <summary>
    /// Starts a fresh node (empty journal: every script expects no rooms) connected to the test Prosody as the
    /// conference.localhost component; disposing stops it (occupants get 332) and removes its data.
    /// </summary>
    public static async Task<IAsyncDisposable> StartNodeAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken) =>
        await StartNodeAsync(endpoint, new Dictionary<string, string?>(), cancellationToken);

    private static async Task<IAsyncDisposable> StartReplicatedAsync(ComponentEndpoint endpoint, CancellationToken cancellationToken)
    {
        var primaryProsody = await ProsodyServer.StartAsync(
            new ProsodyOptions(MucHosting.ExternalComponent) { Domain = PrimaryHost, LogLevel = "info" }, cancellationToken);
        var clusterPort = FreeTcpPorts.Pick(1)[0];
        var primary = await StartNodeAsync(primaryProsody.ComponentEndpoint, new Dictionary<string, string?>
        {
            ["Dmuc:Role"] = "Primary",
            ["Dmuc:HostDomain"] = PrimaryHost,
            ["Dmuc:ClusterPort"] = clusterPort.ToString(),
        }, cancellationToken);
        await primaryProsody.WaitForComponentAsync(TimeSpan.FromSeconds(15), cancellationToken);
        var replica = await StartNodeAsync(endpoint, new Dictionary<string, string?>
        {
            ["Dmuc:Role"] = "Replica",
            ["Dmuc:HostDomain"] = "localhost",
            ["Dmuc:Seeds:0"] = $"akka.tcp://dmuc@127.0.0.1:{clusterPort}",
        }, cancellationToken);
        await WaitUntilAsync(() => primary.Hosts.ReplicaNodeFor("localhost") is not null && replica.Hosts.PrimaryNode is not null,
            "the replica node joined the primary's cluster", cancellationToken);
        return AsyncDisposable.Create(async () =>
        {
            await replica.DisposeAsync();
            await primary.DisposeAsync();
            await primaryProsody.DisposeAsync();
        });
    }

    private static async Task<RunningNode> StartNodeAsync(ComponentEndpoint endpoint, Dictionary<string, string?> extra,
        CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("dmuc-node-").FullName;
        var settings = new Dictionary<string, string?>(extra)
        {
            ["Dmuc:Server"] = $"{endpoint.Host}:{endpoint.Port}",
            ["Dmuc:Domain"] = endpoint.Domain,
            ["Dmuc:Secret"] = endpoint.Secret,
            ["Dmuc:Data"] = data,
        };
        for (var i = 0; i < endpoint.ServiceAdmins.Count; i++)
            settings[$"Dmuc:Admins:{i}"] = endpoint.ServiceAdmins[i];
        var node = DmucNode.Build([], config => config.AddInMemoryCollection(settings));
        await node.StartAsync(cancellationToken);
        return new RunningNode(node, data);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(50, cancellationToken);
        }
    }

    private sealed class RunningNode(IHost node, string data) : IAsyncDisposable
    {
        public ClusterHosts Hosts => node.Services.GetRequiredService<ClusterHosts>();

        public async ValueTask DisposeAsync()
        {
            await node.StopAsync();
            node.Dispose();
            Directory.Delete(data, recursive: true);
        }
    }
}
