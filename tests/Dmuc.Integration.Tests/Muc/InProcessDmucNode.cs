using Dmuc.Actors.Replication;
using Dmuc.Credentials;
using Dmuc.Host;
using Dmuc.Integration.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// A Dmuc node running inside the test process, connected to a Prosody as its external component, with a fresh
/// data folder (an empty journal: no rooms). Disposing stops it (occupants get 332) and removes the folder.
/// </summary>
public sealed class InProcessDmucNode : IAsyncDisposable
{
    private static readonly TimeSpan ClusterFormationTimeout = TimeSpan.FromSeconds(20);

    private readonly IHost _node;
    private readonly string _data;

    private InProcessDmucNode(IHost node, string data)
    {
        _node = node;
        _data = data;
    }

    /// <summary>Which node serves which XMPP host, as this node sees the cluster.</summary>
    public ClusterHosts Hosts => _node.Services.GetRequiredService<ClusterHosts>();

    /// <summary>The node's services (its actor system, for inspecting actors).</summary>
    public IServiceProvider Services => _node.Services;

    /// <summary><paramref name="settings"/> are Dmuc:* keys on top of those that connect it to <paramref name="endpoint"/>.</summary>
    public static async Task<InProcessDmucNode> StartAsync(ComponentEndpoint endpoint, IReadOnlyDictionary<string, string?> settings,
        CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("dmuc-node-").FullName;
        var all = new Dictionary<string, string?>(settings)
        {
            ["Dmuc:Server"] = $"{endpoint.Host}:{endpoint.Port}",
            ["Dmuc:Domain"] = endpoint.Domain,
            ["Dmuc:Secret"] = endpoint.Secret,
            ["Dmuc:Data"] = data,
        };
        for (var i = 0; i < endpoint.ServiceAdmins.Count; i++)
            all[$"Dmuc:Admins:{i}"] = endpoint.ServiceAdmins[i];
        // Off unless asked for: the default port belongs to a node an operator runs on this machine.
        all.TryAdd("Dmuc:Management:Url", "");
        if (!all.ContainsKey("Dmuc:Tls:Certificate"))
            foreach (var (key, value) in TestClusterAuthority.IssueInto(Path.Combine(data, "tls"), ClaimsOf(all))) all[key] = value;
        var node = DmucNode.Build([], config => config.AddInMemoryCollection(all));
        await node.StartAsync(cancellationToken);
        return new InProcessDmucNode(node, data);
    }

    /// <summary>Exactly what the node's settings say it is: every node of a test trusts the same test authority.</summary>
    public static NodeClaims ClaimsOf(IReadOnlyDictionary<string, string?> settings)
    {
        var host = settings.GetValueOrDefault("Dmuc:HostDomain");
        var primary = settings.GetValueOrDefault("Dmuc:Role") is not "Replica";
        return NodeClaims.For("node-" + (host ?? "local"), host is null ? [] : [host], primary ? [settings["Dmuc:Domain"]!] : []);
    }

    /// <summary>The settings of a primary that serves <paramref name="host"/> and listens for replicas on <paramref name="clusterPort"/>.</summary>
    public static Dictionary<string, string?> PrimarySettings(string host, int clusterPort) => new()
    {
        ["Dmuc:Role"] = "Primary",
        ["Dmuc:HostDomain"] = host,
        ["Dmuc:ClusterPort"] = clusterPort.ToString(),
    };

    /// <summary>The settings of a replica that serves <paramref name="host"/> and joins the primary at <paramref name="primaryClusterPort"/>.</summary>
    public static Dictionary<string, string?> ReplicaSettings(string host, int primaryClusterPort) => new()
    {
        ["Dmuc:Role"] = "Replica",
        ["Dmuc:HostDomain"] = host,
        ["Dmuc:Seeds:0"] = $"akka.ssl.tcp://dmuc@127.0.0.1:{primaryClusterPort}",
    };

    /// <summary>
    /// Waits until the primary routes to every replica's host and every replica knows the primary: before that,
    /// a replica's user would enter a room the primary cannot answer.
    /// </summary>
    public static async Task WaitUntilClusterFormedAsync(InProcessDmucNode primary, IReadOnlyDictionary<string, InProcessDmucNode> replicasByHost,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ClusterFormationTimeout;
        while (!replicasByHost.All(replica => primary.Hosts.ReplicaNodeFor(replica.Key) is not null && replica.Value.Hosts.PrimaryNode is not null))
        {
            if (DateTime.UtcNow > deadline)
            {
                var missing = replicasByHost.Keys.Where(host => primary.Hosts.ReplicaNodeFor(host) is null);
                throw new TimeoutException(
                    $"The cluster did not form within {ClusterFormationTimeout.TotalSeconds} s; the primary sees no node for: {string.Join(", ", missing)}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _node.StopAsync();
        _node.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
