using System.Globalization;
using Akka.Actor;
using Dmuc.Actors.Component;

namespace Dmuc.Host;

/// <summary>
/// Whether the node starts again after its actor system shut down. Akka.Remote (since 1.5.51, akka.net #7839 and #7939)
/// shuts the actor system down on any failed TLS handshake of an outbound connection, also when the peer merely died
/// during the handshake ("Channel is closed"): without this, a kill -9 of one node took down whichever node was connecting
/// to it at that moment. Such a shutdown is a graceful leave, so the restarted node rejoins as a new incarnation and
/// relearns what it serves (docs/protocol/netjoin.md §5); its occupants are not told that they leave (<see cref="RestartingShutdown"/>). A certificate that is really wrong fails every time: after
/// <paramref name="limit"/> restarts within <paramref name="window"/> the process exits with Akka's code for it (79), for
/// its supervisor and operator to see. Every other reason ends the process with Akka's code (3 when downed, so that a
/// supervisor restarting on failure starts it again; 0 when drained or stopped). The count outlives the process image
/// (<see cref="ProcessImage"/>) in <see cref="EnvironmentVariable"/>.
/// </summary>
public sealed class ActorSystemRestarts(int limit, TimeSpan window)
{
    public const string EnvironmentVariable = "DMUC_ACTOR_SYSTEM_RESTARTS";

    public static ActorSystemRestarts Default => new(limit: 3, window: TimeSpan.FromMinutes(10));

    private readonly Queue<DateTimeOffset> _recent = new();

    /// <summary>The default count, with the restarts an earlier image of this process made (<see cref="Recent"/>, as it left them).</summary>
    public static ActorSystemRestarts FromEarlierImage(string? recent)
    {
        var restarts = Default;
        foreach (var stamp in (recent ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            if (long.TryParse(stamp, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
                restarts._recent.Enqueue(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds));
        return restarts;
    }

    /// <summary>The restarts counted, for the next image of this process.</summary>
    public string Recent => string.Join(',', _recent.Select(at => at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));

    /// <summary>Counts the restart when it allows it.</summary>
    public bool ShouldRestart(CoordinatedShutdown.Reason? reason, DateTimeOffset now)
    {
        if (!RestartingShutdown.Is(reason)) return false;
        while (_recent.Count > 0 && now - _recent.Peek() >= window) _recent.Dequeue();
        if (_recent.Count >= limit) return false;
        _recent.Enqueue(now);
        return true;
    }
}
