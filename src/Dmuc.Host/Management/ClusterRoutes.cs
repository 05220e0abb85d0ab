using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Replication;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary>Cluster membership as this node sees it, and the two ways an operator removes a member.</summary>
internal static class ClusterRoutes
{
    // ClusterHosts.HostRole(host) is this prefix followed by the host.
    private static readonly string HostRolePrefix = ClusterHosts.HostRole(host: "");

    public static void Map(WebApplication app, IServiceProvider node)
    {
        var cluster = Cluster.Get(node.GetRequiredService<ActorSystem>());
        app.MapGet(ManagementApi.Cluster, () => Answer.Ok(Describe(cluster)));
        // Leave is graceful (the member hands over and exits); down is for a member that is gone and will not leave.
        app.MapPost(ManagementApi.ClusterLeave, (ClusterNodeRequest request) => Act(cluster, request, "leave", cluster.Leave));
        app.MapPost(ManagementApi.ClusterDown, (ClusterNodeRequest request) => Act(cluster, request, "down", cluster.Down));
    }

    public static ClusterView Describe(Cluster cluster)
    {
        var state = cluster.State;
        var members = state.Members.Select(member => new ClusterMemberView(
            member.Address.ToString(),
            member.Status.ToString(),
            Reachable: !state.Unreachable.Contains(member),
            member.Roles.Order(StringComparer.Ordinal).ToList(),
            HostDomain: member.Roles.FirstOrDefault(role => role.StartsWith(HostRolePrefix, StringComparison.Ordinal))?[HostRolePrefix.Length..],
            IsPrimary: member.HasRole(ClusterHosts.PrimaryRole),
            IsSelf: member.Address == cluster.SelfAddress));
        return new ClusterView(cluster.SelfAddress.ToString(), members.ToList());
    }

    private static IResult Act(Cluster cluster, ClusterNodeRequest request, string action, Action<Address> apply)
    {
        Address address;
        try
        {
            address = Address.Parse(request.Node);
        }
        catch (Exception error) when (error is UriFormatException or ArgumentException)
        {
            return Answer.BadRequest($"'{request.Node}' is not an Akka address (akka.tcp://dmuc@HOST:PORT)");
        }
        if (!cluster.State.Members.Any(member => member.Address == address))
            return Answer.NotFound($"{address} is not a member of this cluster");
        apply(address);
        return Answer.Accepted(new ClusterActionAccepted(address.ToString(), action));
    }
}
