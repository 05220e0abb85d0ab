using Akka.Actor;

namespace Dmuc.Actors.Replication;

/// <summary>
/// An end of a primary/replica link (<see cref="ReplicaLink"/> on the primary, <see cref="ReplicaRoom"/> on a replica):
/// one timer asks its <see cref="LinkKeepalive"/> what is due and looks again when that says; the link split is marked
/// once, with its reason, and reported to <see cref="OnSplit"/>. What each end sends is its own.
/// </summary>
public abstract class KeepaliveActor : ReceiveActor, IWithTimers
{
    /// <param name="keepsAlive">False for the service's own address, which has no room state to keep in step.</param>
    protected KeepaliveActor(LinkKeepalive keepalive, bool keepsAlive)
    {
        Keepalive = keepalive;
        KeepsAlive = keepsAlive;
        Receive<KeepaliveTick>(_ => HandleKeepaliveTick());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected LinkKeepalive Keepalive { get; }

    protected bool KeepsAlive { get; }

    protected override void PreStart()
    {
        if (KeepsAlive) CheckKeepaliveAgain(DateTimeOffset.UtcNow);
    }

    protected override void PostStop() => Keepalive.Telemetry?.Dispose();

    /// <summary>Something changed what is due next (a forward awaits its answer, a netjoin started): the timer follows.</summary>
    protected void CheckKeepaliveAgain(DateTimeOffset now) => ScheduleKeepalive(Keepalive.Check(now).CheckAgainIn);

    /// <summary>A pong from the other end: it measures the round trip of the ping it answers.</summary>
    protected void PongReceived(KeepalivePong pong) => Keepalive.Answered(pong.Id, DateTimeOffset.UtcNow);

    /// <summary>Marks the link split, once, and pings on the split interval from now.</summary>
    protected void MarkSplit(string reason)
    {
        if (!KeepsAlive || Keepalive.State == LinkState.Split) return;
        var now = DateTimeOffset.UtcNow;
        Keepalive.MarkSplit(now);
        OnSplit(reason, now);
        CheckKeepaliveAgain(now);
    }

    /// <summary>The link was just marked split.</summary>
    protected abstract void OnSplit(string reason, DateTimeOffset now);

    /// <summary>What the keepalive says is due now: a ping to send, or the link to mark split (with <see cref="MarkSplit"/>).</summary>
    protected abstract void OnKeepaliveDue(KeepaliveAction action, DateTimeOffset now);

    private void HandleKeepaliveTick()
    {
        var now = DateTimeOffset.UtcNow;
        var (action, checkAgainIn) = Keepalive.Check(now);
        OnKeepaliveDue(action, now);
        ScheduleKeepalive(checkAgainIn);
    }

    private void ScheduleKeepalive(TimeSpan delay) => Timers.StartSingleTimer(KeepaliveTick.Instance, KeepaliveTick.Instance, delay);

    private sealed class KeepaliveTick
    {
        public static readonly KeepaliveTick Instance = new();
    }
}
