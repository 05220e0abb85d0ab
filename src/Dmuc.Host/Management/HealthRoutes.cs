using Dmuc.Management.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dmuc.Host.Management;

/// <summary><c>/healthz</c>: the node's liveness checks. <c>/ready</c>: its readiness checks (<see cref="NodeHealth"/>); 503 unless all pass.</summary>
internal static class HealthRoutes
{
    public static void Map(WebApplication app, IServiceProvider node)
    {
        var health = node.GetRequiredService<HealthCheckService>();
        app.MapGet(ManagementApi.Health, (CancellationToken cancellationToken) => CheckAsync(health, NodeHealth.Live, cancellationToken));
        app.MapGet(ManagementApi.Ready, (CancellationToken cancellationToken) => CheckAsync(health, NodeHealth.Ready, cancellationToken));
    }

    private static async Task<IResult> CheckAsync(HealthCheckService health, string tag, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(tag), cancellationToken);
        var view = new HealthView(report.Status.ToString(), report.Entries
            .OrderBy(entry => entry.Key, StringComparer.Ordinal)
            .Select(entry => new HealthCheckView(entry.Key, entry.Value.Status.ToString(), entry.Value.Description))
            .ToList());
        return Results.Json(view, ManagementApi.Json,
            statusCode: report.Status == HealthStatus.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
