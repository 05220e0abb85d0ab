using Dmuc.LoadTest.Servers;

namespace Dmuc.LoadTest.Scenarios;

/// <summary>
/// One room of <see cref="Occupants"/> on a fresh server: the join is always measured, then the phases that
/// are switched on, in this order: saturation, paced sending, 2× overload (twice the saturation rate).
/// </summary>
public sealed record Scenario(string Name, int Occupants)
{
    public bool Saturate { get; init; }
    public double? PacedMessagesPerSecond { get; init; }
    public bool Overload { get; init; }

    public bool HasLoadPhases => Saturate || PacedMessagesPerSecond is not null;

    public static IReadOnlyList<Scenario> Targets(bool includeThousandJoin) =>
    [
        new("10 occupants", 10) { Saturate = true },
        new("100 occupants", 100) { Saturate = true, PacedMessagesPerSecond = 100, Overload = true },
        new("500 occupants", 500) { PacedMessagesPerSecond = 20 },
        .. includeThousandJoin ? [new Scenario("1000 occupants", 1000)] : Array.Empty<Scenario>(),
    ];

    /// <summary>
    /// The servers side by side: saturation for every backend (Prosody's own MUC first, the anchor of the
    /// ratios), then the fixed rate and the big joins for ejabberd's own MUC (the anchor there) and one room over
    /// three hosts.
    /// </summary>
    public static IReadOnlyList<ScenarioPlan> Comparison(bool includeThousandJoin)
    {
        // The -unicast twin last: where it fails (the 500 join cut its streams on a busy machine) the run still has the others.
        IReadOnlyList<Backend> ejabberdAgainstThreeHosts = [Backend.EjabberdMuc, Backend.Dmuc3Hosts, Backend.Dmuc3HostsUnicast];
        return
        [
            new(new("100 occupants: saturation", 100) { Saturate = true }, Backend.All),
            new(new("100 occupants: 10,000 deliveries/s", 100) { PacedMessagesPerSecond = 100 }, ejabberdAgainstThreeHosts),
            new(new("500 occupants: join", 500), ejabberdAgainstThreeHosts),
            .. includeThousandJoin
                ? [new ScenarioPlan(new("1000 occupants: join", 1000), ejabberdAgainstThreeHosts)]
                : Array.Empty<ScenarioPlan>(),
        ];
    }
}

/// <summary>A scenario and the backends it runs against, in table order (the first is the ratios' anchor).</summary>
public sealed record ScenarioPlan(Scenario Scenario, IReadOnlyList<Backend> Backends);

public sealed record RunSettings(
    TimeSpan PhaseDuration,
    TimeSpan WarmUpDuration,
    TimeSpan OverloadDuration,
    TimeSpan DrainTimeout,
    int MaxSenders,
    int SaturationWindow,
    string NodeExecutable,
    string? LatencyTracePath = null,
    string? NodeLogs = null,
    int? ManagementPorts = null);

/// <summary>Runs a scenario against one backend and reports what it measured as named metrics.</summary>
public static class ScenarioRunner
{
    public static async Task<IReadOnlyList<Metric>> RunAsync(Scenario scenario, Backend backend, RunSettings settings,
        Action<string> progress, CancellationToken cancellationToken)
    {
        var metrics = new List<Metric>();
        await using var server = await ServerUnderTest.StartAsync(backend, settings.NodeExecutable, cancellationToken,
            nodeLogs: settings.NodeLogs is { } logs ? Path.Combine(logs, backend.Name) : null, managementPorts: settings.ManagementPorts);
        try
        {
            await using var room = await RoomUnderLoad.ConnectAsync(server, scenario.Occupants, cancellationToken);
            var join = await room.JoinAllAsync(cancellationToken);
            progress($"join of {join.Joiners}: {join.JoinTime.TotalSeconds:0.00} s");
            metrics.AddRange(Metric.ForJoin(join));
            if (!scenario.HasLoadPhases) return metrics;
            var senders = Math.Min(settings.MaxSenders, scenario.Occupants);
            // Unreported: lets .NET's tiered JIT reach optimized code and both servers settle their buffers.
            await room.SaturateAsync(senders, settings.SaturationWindow, settings.WarmUpDuration, settings.DrainTimeout, cancellationToken);

            PhaseResult? saturation = null;
            if (scenario.Saturate)
            {
                saturation = await room.SaturateAsync(senders, settings.SaturationWindow, settings.PhaseDuration,
                    settings.DrainTimeout, cancellationToken);
                progress($"saturation: {saturation.DeliveriesPerSecond:N0} deliveries/s, lost {saturation.Lost}");
                metrics.AddRange(Metric.ForPhase("saturation", saturation, throughput: true));
            }
            if (scenario.PacedMessagesPerSecond is { } rate)
            {
                var paced = await room.SendAtRateAsync(senders, rate, settings.PhaseDuration, settings.DrainTimeout, cancellationToken,
                    settings.LatencyTracePath is { } trace ? $"{trace}.{backend.Name}.csv" : null);
                progress($"{rate} msg/s: p99 {paced.Latency.Percentile(99) / 1000.0:0.00} ms, lost {paced.Lost}");
                metrics.AddRange(Metric.ForPhase($"{rate * scenario.Occupants:N0} deliveries/s", paced, throughput: false));
            }
            if (scenario.Overload && saturation is not null)
            {
                var overload = await room.SendAtRateAsync(senders, 2 * saturation.MessagesSent / saturation.SendTime.TotalSeconds,
                    settings.OverloadDuration, settings.DrainTimeout, cancellationToken);
                progress($"2x overload: lost {overload.Lost}, errors {overload.ErrorsReceived}");
                metrics.AddRange(Metric.ForOverload(overload));
            }
            await server.VerifyArchivedAsync(cancellationToken);
            return metrics;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{scenario.Name} against {backend.Name} failed: {error.Message}\n" +
                server.DescribeForFailure(), error);
        }
    }
}
