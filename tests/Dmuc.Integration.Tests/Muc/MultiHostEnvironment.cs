using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// A DMUC deployment in miniature (XEP-0282): one Prosody per XMPP host, each with a Dmuc node in this process
/// serving the same MUC domain as its external component. The node of the room's home host is the primary; the
/// others are replicas in its cluster. Hosts have no s2s: a client on one host meets clients of the others only
/// through the cluster. Starts with no rooms.
/// </summary>
public sealed class MultiHostEnvironment : IAsyncDisposable
{
    private static readonly TimeSpan ComponentConnectTimeout = TimeSpan.FromSeconds(15);

    private readonly IReadOnlyDictionary<string, ProsodyServer> _prosodies;
    private readonly IReadOnlyDictionary<string, InProcessDmucNode> _nodes;
    private readonly List<IAsyncDisposable> _stopInOrder;

    private MultiHostEnvironment(IReadOnlyDictionary<string, ProsodyServer> prosodies, IReadOnlyDictionary<string, InProcessDmucNode> nodes,
        List<IAsyncDisposable> stopInOrder)
    {
        _prosodies = prosodies;
        _nodes = nodes;
        _stopInOrder = stopInOrder;
    }

    /// <summary>The Dmuc node serving <paramref name="domain"/>.</summary>
    public InProcessDmucNode Node(string domain) => _nodes[domain];

    /// <summary>The Prosody where users of <paramref name="domain"/> log in; null if the environment has no such host.</summary>
    public XmppServerEndpoint? ClientEndpointFor(string domain) => _prosodies.GetValueOrDefault(domain)?.ClientEndpoint;

    /// <param name="mucDomain">The MUC domain every host declares as a component.</param>
    /// <param name="primaryHost">The rooms' home host, whose node holds them.</param>
    /// <param name="replicaHosts">The other hosts, each with a replica node.</param>
    /// <param name="serviceAdmins">Bare JIDs that own every room.</param>
    /// <param name="nodeSettings">Dmuc:* settings of each host's node beyond those that place it in the deployment.</param>
    public static async Task<MultiHostEnvironment> StartAsync(string mucDomain, string primaryHost, IEnumerable<string> replicaHosts,
        IReadOnlyList<string> serviceAdmins, CancellationToken cancellationToken = default,
        Func<string, IReadOnlyDictionary<string, string?>>? nodeSettings = null)
    {
        Dictionary<string, string?> Settings(Dictionary<string, string?> placement, string host) =>
            new(placement.Concat(nodeSettings?.Invoke(host) ?? new Dictionary<string, string?>()));

        var hosts = replicaHosts.Where(host => host != primaryHost).Distinct().Prepend(primaryHost).ToList();
        var stopInOrder = new List<IAsyncDisposable>();
        try
        {
            var prosodies = (await Task.WhenAll(hosts.Select(host => ProsodyServer.StartAsync(
                    new ProsodyOptions(MucHosting.ExternalComponent) { Domain = host, MucDomain = mucDomain, ServiceAdmins = serviceAdmins },
                    cancellationToken))))
                .ToDictionary(prosody => prosody.Options.Domain);
            // Nodes stop before their Prosodies, replicas before the primary: reversed at disposal.
            stopInOrder.AddRange(prosodies.Values);

            var clusterPort = FreeTcpPorts.Pick(1)[0];
            var primary = await InProcessDmucNode.StartAsync(prosodies[primaryHost].ComponentEndpoint,
                Settings(InProcessDmucNode.PrimarySettings(primaryHost, clusterPort), primaryHost), cancellationToken);
            stopInOrder.Add(primary);
            var replicas = new Dictionary<string, InProcessDmucNode>();
            var replicaStarts = hosts.Skip(1).ToDictionary(host => host, host => InProcessDmucNode.StartAsync(
                prosodies[host].ComponentEndpoint, Settings(InProcessDmucNode.ReplicaSettings(host, clusterPort), host), cancellationToken));
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

            // Clients must not talk to the MUC domain before each host's component is in, or Prosody bounces the stanzas.
            await Task.WhenAll(prosodies.Values.Select(prosody => prosody.WaitForComponentAsync(ComponentConnectTimeout, cancellationToken)));
            await InProcessDmucNode.WaitUntilClusterFormedAsync(primary, replicas, cancellationToken);
            return new MultiHostEnvironment(prosodies, new Dictionary<string, InProcessDmucNode>(replicas) { [primaryHost] = primary }, stopInOrder);
        }
        catch
        {
            await StopAsync(stopInOrder);
            throw;
        }
    }

    /// <summary>Each Prosody's console and log tail, for a failure report.</summary>
    public string DescribeForFailure() =>
        string.Join("\n", _prosodies.Select(prosody => $"=== {prosody.Key} ===\n{prosody.Value.DescribeForFailure(logLines: 25)}"));

    public ValueTask DisposeAsync() => new(StopAsync(_stopInOrder));

    private static async Task StopAsync(List<IAsyncDisposable> stopInOrder)
    {
        for (var i = stopInOrder.Count - 1; i >= 0; i--)
            await stopInOrder[i].DisposeAsync();
    }
}
