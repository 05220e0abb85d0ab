using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary>Cluster membership as this node sees it, and the ways an operator removes a member.</summary>
internal static class ClusterRoutes
{
    // ClusterHosts.HostRole(host) is this prefix followed by the host.
    private static readonly string HostRolePrefix = ClusterHosts.HostRole(host: "");

    public static void Map(WebApplication app, IServiceProvider node)
    {
        var cluster = Cluster.Get(node.GetRequiredService<ActorSystem>());
        var outbox = node.GetRequiredService<ComponentOutbox>();
        app.MapGet(ManagementApi.Cluster, () => Answer.Ok(Describe(cluster, outbox)));
        // Leave is graceful (the member hands over and exits); down is for a member that is gone and will not leave.
        app.MapPost(ManagementApi.ClusterLeave, (ClusterNodeRequest request) => Act(cluster, request, "leave", cluster.Leave));
        app.MapPost(ManagementApi.ClusterDown, (ClusterNodeRequest request) => Act(cluster, request, "down", cluster.Down));
        app.MapPost(ManagementApi.ClusterDrain, (ClusterNodeRequest request) => Act(cluster, request, "drain", cluster.Leave, DrainRefusal));
    }

    /// <summary>
    /// A drain is a graceful leave of a primary-capable node while another stays: sharding hands its rooms' shards over, and its
    /// directory does not tell occupants 332 (they stay). Asked of another node, which outlives it and can tell when it is gone.
    /// </summary>
    private static string? DrainRefusal(Cluster cluster, Member member)
    {
        if (!member.HasRole(ClusterHosts.PrimaryRole))
            return $"{member.Address} holds no rooms (it is not primary-capable): `dmuc cluster leave` stops it";
        if (member.Address == cluster.SelfAddress)
            return $"{member.Address} is the node answering: ask another node's endpoint, which can tell when the drain is done";
        if (!cluster.State.Members.Any(other => other.Address != member.Address && other.HasRole(ClusterHosts.PrimaryRole) && other.Status == MemberStatus.Up))
            return $"no other primary-capable node is Up to take the rooms of {member.Address}";
        return null;
    }

    public static ClusterView Describe(Cluster cluster, ComponentOutbox outbox)
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
        var multicast = outbox.Multicast;
        return new ClusterView(cluster.SelfAddress.ToString(), members.ToList(), new DeliveryView(multicast?.Service, multicast?.HostDomain,
            multicast?.ListForm == Dmuc.Xmpp.RecipientListForm.Compact));
    }

    private static IResult Act(Cluster cluster, ClusterNodeRequest request, string action, Action<Address> apply,
        Func<Cluster, Member, string?>? refusal = null)
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
        if (cluster.State.Members.FirstOrDefault(member => member.Address == address) is not { } member)
            return Answer.NotFound($"{address} is not a member of this cluster");
        if (refusal?.Invoke(cluster, member) is { } refused) return Answer.Conflict(refused);
        apply(address);
        return Answer.Accepted(new ClusterActionAccepted(address.ToString(), action));
    }
}
