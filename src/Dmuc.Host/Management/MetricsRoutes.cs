using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Dmuc.Host.Management;

/// <summary>
/// <c>/metrics</c>: the node's <see cref="Dmuc.Actors.Telemetry.DmucMetrics"/> in the Prometheus text format. Behind
/// the token like the rest of the endpoint when one is set (Prometheus sends it: <c>authorization: credentials</c>).
/// </summary>
internal static class MetricsRoutes
{
    public const string Path = "/metrics";

    public static void Map(WebApplication app, IServiceProvider node) =>
        app.MapPrometheusScrapingEndpoint(Path, node.GetRequiredService<MeterProvider>(), configureBranchedPipeline: null, optionsName: null);
}
