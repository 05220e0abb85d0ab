using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Component;
using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dmuc.Host.Management;

/// <summary><c>/healthz</c>: the process answers. <c>/ready</c>: the node serves users (component stream up, cluster member Up).</summary>
internal static class HealthRoutes
{
    public static void Map(WebApplication app, IServiceProvider node)
    {
        var outbox = node.GetRequiredService<ComponentOutbox>();
        var cluster = Cluster.Get(node.GetRequiredService<ActorSystem>());
        app.MapGet(ManagementApi.Health, () => Answer.Ok(new { status = "alive" }));
        app.MapGet(ManagementApi.Ready, () =>
        {
            var status = cluster.SelfMember.Status;
            var readiness = new ReadinessView(outbox.IsConnected && status == MemberStatus.Up, outbox.IsConnected, status.ToString());
            return Results.Json(readiness, ManagementApi.Json,
                statusCode: readiness.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }
}
