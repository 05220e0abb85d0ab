namespace Dmuc.LoadTest.Scenarios;

/// <summary>One measured number of a scenario, e.g. "saturation: deliveries/s", as the result tables show it.</summary>
public sealed record Metric(string Name, double Value, string Format)
{
    public string Formatted => double.IsNaN(Value) ? "–" : Value.ToString(Format, System.Globalization.CultureInfo.InvariantCulture);

    public static IEnumerable<Metric> ForJoin(JoinResult join)
    {
        var prefix = $"join of {join.Joiners}";
        yield return new($"{prefix}: all joined (s)", join.JoinTime.TotalSeconds, "0.00");
        yield return new($"{prefix}: median joiner (s)", join.MedianJoinTime.TotalSeconds, "0.00");
        yield return new($"{prefix}: CPU XMPP servers (s)", join.Cpu.XmppServers.TotalSeconds, "0.00");
        yield return new($"{prefix}: CPU Dmuc nodes (s)", join.Cpu.Nodes.TotalSeconds, "0.00");
        yield return new($"{prefix}: joins refused (wait) and retried", join.Retries, "N0");
    }

    public static IEnumerable<Metric> ForPhase(string phase, PhaseResult result, bool throughput)
    {
        // At a fixed rate the rate achieved only shows whether the server kept up; at saturation it is the result.
        yield return new(throughput ? $"{phase}: deliveries/s" : $"{phase}: deliveries/s achieved", result.DeliveriesPerSecond, "N0");
        yield return new($"{phase}: latency p50 (ms)", result.Latency.Percentile(50) / 1000.0, "0.00");
        yield return new($"{phase}: latency p99 (ms)", result.Latency.Percentile(99) / 1000.0, "0.00");
        yield return new($"{phase}: latency max (ms)", result.Latency.MaxMicroseconds / 1000.0, "0.00");
        yield return new($"{phase}: undelivered after drain", result.Lost, "N0");
        yield return new($"{phase}: CPU µs/delivery XMPP servers", result.MicrosecondsPerDelivery(result.Cpu.XmppServers), "0.00");
        yield return new($"{phase}: CPU µs/delivery Dmuc nodes", result.MicrosecondsPerDelivery(result.Cpu.Nodes), "0.00");
        yield return new($"{phase}: CPU µs/delivery load tool", result.MicrosecondsPerDelivery(result.Cpu.LoadTool), "0.00");
        yield return new($"{phase}: cores busy XMPP servers", CoresBusy(result.Cpu.XmppServers, result), "0.00");
        yield return new($"{phase}: cores busy Dmuc nodes", CoresBusy(result.Cpu.Nodes, result), "0.00");
        yield return new($"{phase}: cores busy load tool", CoresBusy(result.Cpu.LoadTool, result), "0.00");
        yield return new($"{phase}: cores busy other processes", CoresBusy(result.Cpu.Others, result), "0.00");
    }

    public static IEnumerable<Metric> ForOverload(PhaseResult result)
    {
        const string phase = "2× overload";
        yield return new($"{phase}: offered msg/s", result.OfferedMessagesPerSecond, "N0");
        yield return new($"{phase}: expected deliveries", result.ExpectedDeliveries, "N0");
        yield return new($"{phase}: undelivered after drain", result.Lost, "N0");
        yield return new($"{phase}: error stanzas received", result.ErrorsReceived, "N0");
        yield return new($"{phase}: drain after sending stopped (s)", (result.DeliveryTime - result.SendTime).TotalSeconds, "0.00");
        yield return new($"{phase}: latency max (ms)", result.Latency.MaxMicroseconds / 1000.0, "N0");
    }

    private static double CoresBusy(TimeSpan cpu, PhaseResult result) =>
        result.CpuWindow > TimeSpan.Zero ? cpu.TotalSeconds / result.CpuWindow.TotalSeconds : double.NaN;
}
