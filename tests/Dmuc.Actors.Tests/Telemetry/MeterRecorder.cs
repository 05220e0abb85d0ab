using System.Diagnostics.Metrics;

namespace Dmuc.Actors.Tests.Telemetry;

/// <summary>Records what the instruments of one <see cref="Meter"/> instance measure (other nodes' meters share its name).</summary>
public sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, string?> Tags)> _measurements = [];

    public MeterRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Every value <paramref name="instrument"/> measured with at least <paramref name="tags"/>, oldest first.</summary>
    public List<double> Values(string instrument, params (string Tag, string Value)[] tags)
    {
        lock (_lock)
            return _measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.GetValueOrDefault(t.Tag) == t.Value))
                .Select(m => m.Value).ToList();
    }

    /// <summary>What the observable gauges say now (only this observation: earlier ones are forgotten).</summary>
    public double Observe(string instrument, params (string Tag, string Value)[] tags)
    {
        lock (_lock) _measurements.RemoveAll(m => m.Instrument == instrument);
        _listener.RecordObservableInstruments();
        return Values(instrument, tags).Sum();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var byName = new Dictionary<string, string?>();
        foreach (var tag in tags) byName[tag.Key] = tag.Value?.ToString();
        lock (_lock) _measurements.Add((instrument.Name, value, byName));
    }
}
