using Akka.Actor;
using Akka.Cluster;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary>
/// The status page (<c>/status</c>): a read-only picture of the cluster (hosts, nodes, links, rooms with occupants per
/// host) that its script refreshes every second from <c>/api/status</c>, so an operator can watch a netsplit drill.
/// </summary>
internal static class StatusRoutes
{
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var resource = typeof(StatusRoutes).Assembly.GetManifestResourceStream("Dmuc.Host.Management.Status.status.html")
            ?? throw new InvalidOperationException("the status page is not embedded in the node");
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    });

    public static void Map(WebApplication app, IServiceProvider services, ManagedNode node, RoomRoutes rooms)
    {
        var cluster = Cluster.Get(services.GetRequiredService<ActorSystem>());
        var role = node.Role == NodeRole.Replica ? NodeRoleView.Replica : NodeRoleView.Primary;
        app.MapGet(ManagementApi.StatusPage, () => Results.Bytes(Page.Value, "text/html; charset=utf-8"));
        app.MapGet(ManagementApi.Status, () => RoomRoutes.Answering(async () => Answer.Ok(
            new ClusterStatusView(DateTimeOffset.UtcNow, role, ClusterRoutes.Describe(cluster), await rooms.OccupiedRoomsAsync()))));
    }
}
