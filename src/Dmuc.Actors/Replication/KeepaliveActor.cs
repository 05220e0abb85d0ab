using Akka.Actor;

namespace Dmuc.Actors.Replication;

/// <summary>
/// An end of a primary/replica link (<see cref="ReplicaLink"/> on the primary, <see cref="ReplicaRoom"/> on a replica): hands
/// its <see cref="LinkKeepalive"/> each keepalive command (<see cref="Keep"/>), with one timer for the checks it asks for; sends
/// the pings it decides through <see cref="SendPing"/> and reports the split, once, to <see cref="OnSplit"/>. What else each end
/// sends is its own.
/// </summary>
public abstract class KeepaliveActor : ReceiveActor, IWithTimers
{
    protected KeepaliveActor(LinkKeepalive keepalive)
    {
        Keepalive = keepalive;
        Receive<KeepaliveTick>(_ =>
        {
            var now = DateTimeOffset.UtcNow;
            Keep(new KeepaliveDue(now, NothingToLose));
            OnKeepaliveChecked(now);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Read by the actor for what it reports and decides elsewhere; changed only through <see cref="Keep"/>.</summary>
    protected LinkKeepalive Keepalive { get; }

    protected bool KeepsAlive => Keepalive.KeepsAlive;

    /// <summary>Nobody is in the room at this end: a linked end need not ping.</summary>
    protected virtual bool NothingToLose => false;

    protected override void PreStart()
    {
        if (KeepsAlive) ScheduleKeepalive(Keepalive.Check(DateTimeOffset.UtcNow).CheckAgainIn);
    }

    protected override void PostStop() => Keepalive.Telemetry?.Dispose();

    /// <summary>Has the keepalive decide what <paramref name="command"/> does and apply it; sends the ping it decided and follows its timer.</summary>
    protected void Keep(LinkCommand command)
    {
        var outcome = Keepalive.Handle(command);
        if (outcome.CheckAgainIn is { } delay && KeepsAlive) ScheduleKeepalive(delay);
        if (outcome.SplitReason is { } reason) OnSplit(reason, command.Now);
        if (outcome.PingId is { } id) SendPing(id, command.Now);
    }

    /// <summary>Marks the link split, once, and pings on the split interval from now.</summary>
    protected void MarkSplit(string reason) => Keep(new SplitFound(reason, DateTimeOffset.UtcNow));

    /// <summary>The link was just marked split.</summary>
    protected abstract void OnSplit(string reason, DateTimeOffset now);

    /// <summary>The keepalive decided a ping: send it to the other end.</summary>
    protected abstract void SendPing(string id, DateTimeOffset now);

    /// <summary>The timer's check is done: what else an end looks at as often.</summary>
    protected virtual void OnKeepaliveChecked(DateTimeOffset now)
    {
    }

    private void ScheduleKeepalive(TimeSpan delay) => Timers.StartSingleTimer(KeepaliveTick.Instance, KeepaliveTick.Instance, delay);

    private sealed class KeepaliveTick
    {
        public static readonly KeepaliveTick Instance = new();
    }
}
