using System.Diagnostics;
using Dmuc.Actors.Replication;

namespace Dmuc.Actors.Telemetry;

/// <summary>
/// One end of a replica link as the metrics see it: its state for the link gauge, and the round trips, netsplits and
/// netjoins <see cref="LinkKeepalive"/> measures. Dispose it when the link's actor stops.
/// </summary>
public sealed class LinkTelemetry : IDisposable
{
    private readonly DmucMetrics _metrics;
    private readonly TrackedSlots<LinkTelemetry> _slots;
    private readonly TagList _endTag;
    private volatile LinkState _state = LinkState.Linked;

    internal LinkTelemetry(DmucMetrics metrics, TrackedSlots<LinkTelemetry> slots, LinkEnd end)
    {
        _metrics = metrics;
        _slots = slots;
        End = end;
        _endTag = new TagList { { "end", Label(end) } };
    }

    public LinkEnd End { get; }

    public LinkState State => _state;

    public static string Label(LinkEnd end) => end == LinkEnd.Primary ? "primary" : "replica";

    public static string Label(LinkState state) => state switch
    {
        LinkState.Linked => "linked",
        LinkState.Split => "split",
        _ => "rejoining",
    };

    internal void Moved(LinkState state) => _state = state;

    internal void RoundTripMeasured(TimeSpan rtt) => _metrics.RoundTrip.Record(rtt.TotalSeconds, _endTag);

    /// <param name="splitFor">How long the link was split, when it was.</param>
    /// <param name="netjoinFor">How long the netjoin took, when this end waited for one.</param>
    internal void Linked(TimeSpan? splitFor, TimeSpan? netjoinFor)
    {
        if (splitFor is { } split) _metrics.SplitDuration.Record(split.TotalSeconds, _endTag);
        if (netjoinFor is { } netjoin) _metrics.NetjoinDuration.Record(netjoin.TotalSeconds, _endTag);
    }

    public void Dispose() => _slots.Remove(this);
}
