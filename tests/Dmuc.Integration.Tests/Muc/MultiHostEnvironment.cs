using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// A DMUC deployment in miniature (XEP-0282): one XMPP server per host (Prosody, or ejabberd where asked), each with
/// a Dmuc node in this process serving the same MUC domain as its external component. The node of the room's home host is the primary; the
/// others are replicas in its cluster. Hosts have no s2s: a client on one host meets clients of the others only
/// through the cluster. Starts with no rooms.
/// </summary>
public sealed class MultiHostEnvironment : IAsyncDisposable
{
    // Generous: CI starts several servers and nodes at once on two cores.
    private static readonly TimeSpan ComponentConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyDictionary<string, XmppHostServer> _servers;
    private readonly IReadOnlyDictionary<string, InProcessDmucNode> _nodes;
    private readonly List<IAsyncDisposable> _stopInOrder;

    private MultiHostEnvironment(IReadOnlyDictionary<string, XmppHostServer> servers, IReadOnlyDictionary<string, InProcessDmucNode> nodes,
        List<IAsyncDisposable> stopInOrder)
    {
        _servers = servers;
        _nodes = nodes;
        _stopInOrder = stopInOrder;
    }

    /// <summary>The Dmuc node serving <paramref name="domain"/>.</summary>
    public InProcessDmucNode Node(string domain) => _nodes[domain];

    /// <summary>The XMPP server of <paramref name="domain"/>.</summary>
    public XmppHostServer Server(string domain) => _servers[domain];

    /// <summary>The server where users of <paramref name="domain"/> log in; null if the environment has no such host.</summary>
    public XmppServerEndpoint? ClientEndpointFor(string domain) => _servers.GetValueOrDefault(domain)?.ClientEndpoint;

    /// <param name="mucDomain">The MUC domain every host declares as a component.</param>
    /// <param name="primaryHost">The rooms' home host, whose node holds them.</param>
    /// <param name="replicaHosts">The other hosts, each with a replica node.</param>
    /// <param name="serviceAdmins">Bare JIDs that own every room.</param>
    /// <param name="ejabberdHosts">Hosts served by ejabberd; the others by Prosody.</param>
    /// <param name="nodeSettings">Dmuc:* settings of each host's node beyond those that place it in the deployment.</param>
    public static async Task<MultiHostEnvironment> StartAsync(string mucDomain, string primaryHost, IEnumerable<string> replicaHosts,
        IReadOnlyList<string> serviceAdmins, IReadOnlyCollection<string>? ejabberdHosts = null, CancellationToken cancellationToken = default,
        Func<string, IReadOnlyDictionary<string, string?>>? nodeSettings = null)
    {
        Dictionary<string, string?> Settings(Dictionary<string, string?> placement, string host) =>
            new(placement.Concat(nodeSettings?.Invoke(host) ?? new Dictionary<string, string?>()));

        var hosts = replicaHosts.Where(host => host != primaryHost).Distinct().Prepend(primaryHost).ToList();
        var stopInOrder = new List<IAsyncDisposable>();
        try
        {
            var starts = hosts.Select(host => ejabberdHosts?.Contains(host) == true
                    ? StartAsync(EjabberdServer.StartAsync(new EjabberdOptions(host, mucDomain) { ServiceAdmins = serviceAdmins }, cancellationToken))
                    : StartAsync(ProsodyServer.StartAsync(
                        new ProsodyOptions(MucHosting.ExternalComponent) { Domain = host, MucDomain = mucDomain, ServiceAdmins = serviceAdmins },
                        cancellationToken)))
                .ToList();
            try
            {
                await Task.WhenAll(starts);
            }
            finally
            {
                // Nodes stop before their servers, replicas before the primary: reversed at disposal.
                stopInOrder.AddRange(starts.Where(start => start.IsCompletedSuccessfully).Select(start => start.Result));
            }
            var servers = starts.Select(start => start.Result).ToDictionary(server => server.Domain);

            var clusterPort = FreeTcpPorts.Pick(1)[0];
            var primary = await InProcessDmucNode.StartAsync(servers[primaryHost].ComponentEndpoint,
                Settings(InProcessDmucNode.PrimarySettings(primaryHost, clusterPort), primaryHost), cancellationToken);
            stopInOrder.Add(primary);
            var replicas = new Dictionary<string, InProcessDmucNode>();
            var replicaStarts = hosts.Skip(1).ToDictionary(host => host, host => InProcessDmucNode.StartAsync(
                servers[host].ComponentEndpoint, Settings(InProcessDmucNode.ReplicaSettings(host, clusterPort), host), cancellationToken));
            try
            {
                await Task.WhenAll(replicaStarts.Values);
            }
            finally
            {
                // Those that did start must be stopped, even when another failed.
                foreach (var (host, start) in replicaStarts.Where(start => start.Value.IsCompletedSuccessfully))
                {
                    replicas[host] = start.Result;
                    stopInOrder.Add(start.Result);
                }
            }

            // Clients must not talk to the MUC domain before each host's component is in, or the server bounces the stanzas.
            await Task.WhenAll(servers.Values.Select(server => server.WaitForComponentAsync(ComponentConnectTimeout, cancellationToken)));
            await InProcessDmucNode.WaitUntilClusterFormedAsync(primary, replicas, cancellationToken);
            return new MultiHostEnvironment(servers, new Dictionary<string, InProcessDmucNode>(replicas) { [primaryHost] = primary }, stopInOrder);
        }
        catch
        {
            await StopAsync(stopInOrder);
            throw;
        }
    }

    /// <summary>Runs <paramref name="play"/>; if it fails, <paramref name="report"/> gets each server's console and log tail first.</summary>
    public async Task PlayAsync(Func<MultiHostEnvironment, Task> play, Action<string> report)
    {
        try
        {
            await play(this);
        }
        catch
        {
            report(DescribeForFailure());
            throw;
        }
    }

    /// <summary>Each server's console and log tail, for a failure report.</summary>
    public string DescribeForFailure() =>
        string.Join("\n", _servers.Select(server => $"=== {server.Key} ===\n{server.Value.DescribeForFailure(logLines: 25)}"));

    private static async Task<XmppHostServer> StartAsync<TServer>(Task<TServer> start) where TServer : XmppHostServer => await start;

    public ValueTask DisposeAsync() => new(StopAsync(_stopInOrder));

    private static async Task StopAsync(List<IAsyncDisposable> stopInOrder)
    {
        for (var i = stopInOrder.Count - 1; i >= 0; i--)
            await stopInOrder[i].DisposeAsync();
    }
}
