using Dmuc.Actors.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Dmuc.Host;

/// <summary>The node's <see cref="DmucMetrics"/>, and their OpenTelemetry export for the management endpoint's /metrics.</summary>
public static class NodeMetrics
{
    /// <param name="exported">Whether anything reads them: without the management endpoint there is no scrape to serve.</param>
    public static IServiceCollection AddNodeMetrics(this IServiceCollection services, DmucMetrics metrics, bool exported)
    {
        // Registered by factory so that the container disposes the meter with the node.
        services.AddSingleton(_ => metrics);
        if (!exported) return services;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("dmuc-node"))
            .WithMetrics(meters => meters
                .AddMeter(DmucMetrics.MeterName)
                // The runtime's own meter: garbage collections and their pauses, JIT, thread-pool queue. A node's latency tail
                // is read against these (a pause, a first-call compile), not guessed (docs/benchmarks.md, issue 11).
                .AddMeter(RuntimeMeterName)
                // Meters are matched by name, and every node of a process (the tests run several) has one named Dmuc.
                .AddView(instrument => IsOtherNodes(instrument.Meter, metrics) ? MetricStreamConfiguration.Drop : null)
                // No cache: each scrape is computed afresh, so two scrapes in a row see what happened between them.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>The .NET runtime's built-in meter (process-wide: several nodes of one process report the same figures).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    private static bool IsOtherNodes(System.Diagnostics.Metrics.Meter meter, DmucMetrics metrics) =>
        meter.Name == DmucMetrics.MeterName && !ReferenceEquals(meter, metrics.Meter);
}
