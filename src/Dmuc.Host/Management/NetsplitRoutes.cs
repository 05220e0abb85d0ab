using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Dmuc.Actors.Replication;
using Dmuc.Host.Drills;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary>
/// Netsplit drills: this node coordinates, each end's <see cref="NetsplitDrill"/> drops its own sends. A cut asks
/// both ends while the link still works; a heal goes to every member, this node first (so that its own asks leave),
/// and each member answers after its sends flow again, so the answers come back even from the other end of a cut.
/// </summary>
internal sealed class NetsplitRoutes
{
    private const string DrillsOff =
        "netsplit drills are off on this node: start every node with Dmuc:Drills:Netsplit=true (--allow-netsplit-drills)";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private readonly ActorSystem _system;
    private readonly ClusterHosts _hosts;
    private readonly IActorRef? _drill;

    private NetsplitRoutes(ActorSystem system, ClusterHosts hosts, IActorRef? drill)
    {
        _system = system;
        _hosts = hosts;
        _drill = drill;
    }

    public static void Map(WebApplication app, IServiceProvider services)
    {
        var registry = services.GetRequiredService<ActorRegistry>();
        var routes = new NetsplitRoutes(services.GetRequiredService<ActorSystem>(), services.GetRequiredService<ClusterHosts>(),
            registry.TryGet<NetsplitDrill>(out var drill) ? drill : null);
        app.MapPost(NetsplitApi.Cut, (NetsplitCutRequest request) => routes.CutAsync(request));
        app.MapPost(NetsplitApi.Heal, routes.HealAsync);
    }

    private async Task<IResult> CutAsync(NetsplitCutRequest request)
    {
        if (_drill is null) return Answer.Conflict(DrillsOff);
        if (string.IsNullOrWhiteSpace(request.HostA) || string.IsNullOrWhiteSpace(request.HostB))
            return Answer.BadRequest("name two XMPP hosts: hostA and hostB");
        var (hostA, hostB) = (request.HostA.Trim().ToLowerInvariant(), request.HostB.Trim().ToLowerInvariant());
        if (hostA == hostB) return Answer.BadRequest($"a host cannot be cut from itself ({hostA})");
        var served = _hosts.Hosts;
        if (new[] { hostA, hostB }.FirstOrDefault(host => !served.ContainsKey(host)) is { } unknown)
            return Answer.NotFound($"no Dmuc node serves {unknown}; the cluster's hosts are {string.Join(", ", served.Keys.Order(StringComparer.Ordinal))}");
        var (nodeA, nodeB) = (served[hostA], served[hostB]);
        try
        {
            await Task.WhenAll(
                DrillOn(nodeA).Ask<NetsplitDrill.LinkCutScheduled>(new NetsplitDrill.CutLinkTo(nodeB.ToString()), AskTimeout),
                DrillOn(nodeB).Ask<NetsplitDrill.LinkCutScheduled>(new NetsplitDrill.CutLinkTo(nodeA.ToString()), AskTimeout));
        }
        catch (AskTimeoutException)
        {
            return Answer.NoAnswerInTime($"the drills of {hostA} ({nodeA}) and {hostB} ({nodeB}) did not both answer within " +
                $"{AskTimeout.TotalSeconds} s: drills off there, or cut off from this node by an earlier drill (heal first)");
        }
        // Both ends answered and go dark after the grace: answering earlier would let a test's next message slip through.
        await Task.Delay(NetsplitDrill.AnswerGrace * 2);
        return Answer.Ok(new NetsplitCutDone(new NetsplitEndView(hostA, nodeA.ToString()), new NetsplitEndView(hostB, nodeB.ToString()),
            Cluster.Get(_system).SelfAddress.ToString()));
    }

    private async Task<IResult> HealAsync()
    {
        if (_drill is null) return Answer.Conflict(DrillsOff);
        var cluster = Cluster.Get(_system);
        var self = await HealOnAsync(cluster.SelfAddress, _drill);
        var others = cluster.State.Members
            .Where(member => member.Address != cluster.SelfAddress && member.Status is not (MemberStatus.Down or MemberStatus.Removed))
            .Select(member => HealOnAsync(member.Address, DrillOn(member.Address)));
        return Answer.Ok(new NetsplitHealDone([self, .. await Task.WhenAll(others)]));
    }

    private async Task<NodeHealView> HealOnAsync(Address node, ICanTell drill)
    {
        try
        {
            var healed = await drill.Ask<NetsplitDrill.LinksHealed>(NetsplitDrill.HealLinks.Instance, AskTimeout);
            return new NodeHealView(node.ToString(), HostOf(node), NodeHealOutcome.Healed,
                healed.Peers.Select(peer => HostOf(Address.Parse(peer)) ?? peer).ToList());
        }
        catch (AskTimeoutException)
        {
            return new NodeHealView(node.ToString(), HostOf(node), NodeHealOutcome.NoAnswer, []);
        }
    }

    private string? HostOf(Address node) => _hosts.Hosts.FirstOrDefault(served => served.Value == node).Key;

    private ActorSelection DrillOn(Address node) => _system.ActorSelection(new RootActorPath(node) / "user" / NetsplitDrill.Name);
}
